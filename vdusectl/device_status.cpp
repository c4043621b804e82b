#include "device_status.h"

#include "daemon_launcher.h"
#include "vdpa_sysfs.h"

namespace vduse
{

DeviceStatus device_status(const DeviceRecord &record)
{
	DeviceStatus s;
	s.record = record;
	const std::string &name = record.spec.name;
	s.daemon_running = daemon_alive(record.pid, name);
	s.attached = vdpa_device_exists(name);
	if (s.attached) {
		s.driver = vdpa_bound_driver(name);
		s.node = vdpa_device_node(name);
	}
	if (!s.daemon_running)
		s.state = "daemon-dead";
	else if (!s.attached)
		s.state = "detached";
	else
		s.state = "running";
	return s;
}

nlohmann::json status_to_json(const DeviceStatus &s)
{
	nlohmann::json j = spec_to_json(s.record.spec);
	j["requested_driver"] = j["driver"];
	j["driver"] = s.driver.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.driver);
	j["node"] = s.node ? nlohmann::json(*s.node) : nlohmann::json(nullptr);
	j["pid"] = s.daemon_running ? nlohmann::json(s.record.pid) : nlohmann::json(nullptr);
	j["state"] = s.state;
	const DeviceSpec &spec = s.record.spec;
	if (spec.file.empty()) {
		j["file"] = nullptr;
		j["mode"] = nullptr;
	} else {
		j["mode"] = std::string(spec.direct ? "direct" : "buffered") +
		            (spec.read_only ? ",ro" : ",rw");
	}
	return j;
}

} // namespace vduse
