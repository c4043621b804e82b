#include "device_status.h"

#include "vdpa/vdpa_sysfs.h"

namespace vduse
{

DeviceStatus device_status(const DeviceRecord &record)
{
	DeviceStatus s;
	s.record = record;
	const std::string &name = record.spec.name;
	s.worker = worker_state(record);
	s.attached = vdpa_device_exists(name);
	if (s.attached) {
		s.driver = vdpa_bound_driver(name);
		s.node = vdpa_device_node(name);
	}
	if (!s.worker.running)
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
	j["pid"] = s.worker.pid > 0 ? nlohmann::json(s.worker.pid) : nlohmann::json(nullptr);
	auto or_null = [](const std::string &text) {
		return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
	};
	j["unit"] = or_null(s.record.unit);
	j["unit_state"] = or_null(s.worker.unit_state);
	j["status"] = or_null(s.worker.status);
	j["restarts"] = s.worker.restarts;
	j["persistent"] = s.record.persistent;
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
