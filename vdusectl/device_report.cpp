#include "device_report.h"

#include "base/size.h"
#include "base/socket_peer.h"
#include "remote/vhost_user_client.h"
#include "vdpa/vdpa_sysfs.h"
#include "vduse/bounce_memory.h"
#include "vduse/vduse_control.h"

namespace vduse
{

namespace
{

nlohmann::ordered_json or_null(const std::string &text)
{
	return text.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(text);
}

} // namespace

StateFacts state_facts(const DeviceRecord &record, const WorkerState &worker, bool attached)
{
	const std::string &name = record.spec.name;
	StateFacts facts{worker.running, device_exists(name), false, attached, record.persistent};
	facts.vduse_broken = facts.vduse_exists && !worker.running && device_broken(name);
	return facts;
}

DeviceState current_state(const DeviceRecord &record, const WorkerState &worker)
{
	return classify(state_facts(record, worker, vdpa_device_exists(record.spec.name)));
}

DeviceState current_state(const DeviceRecord &record)
{
	return current_state(record, worker_state(record));
}

Status require_device_state(std::string_view verb, const DeviceRecord &record,
                            const WorkerState &worker, Need need)
{
	return require_state(verb, record.spec.name, current_state(record, worker),
	                     record.persistent, need);
}

Status require_device_state(std::string_view verb, const DeviceRecord &record, Need need)
{
	return require_device_state(verb, record, worker_state(record), need);
}

DeviceReport device_report(const DeviceRecord &record, const StateDir &state)
{
	DeviceReport r;
	r.record = record;
	const std::string &name = record.spec.name;
	r.worker = worker_state(record);
	r.attached = vdpa_device_exists(name);
	if (r.attached) {
		r.bound_driver = vdpa_bound_driver(name);
		r.node = vdpa_device_node(name);
	}
	if (is_remote_backend(record.spec) && r.worker.running) {
		auto link = read_link_status(state.link_path(name));
		if (link)
			r.link = *link;
	}
	if (record.spec.driver == Driver::virtio) {
		auto kernel = read_bounce_size(name);
		r.bounce_size = kernel ? *kernel : effective_bounce_size(record.spec);
		if (r.worker.running && record.spec.bounce_memory != "default") {
			auto bounce = read_bounce_status(state.bounce_path(name));
			if (bounce)
				r.bounce = *bounce;
		}
	}
	StateFacts facts = state_facts(record, r.worker, r.attached);
	r.state_kind = classify(facts);
	r.state = std::string(state_name(r.state_kind));
	r.hint = state_hint(r.state_kind, name, record.persistent);
	return r;
}

const std::vector<Column> &device_columns()
{
	static const std::vector<Column> columns = {
	        {"name", "NAME"},
	        {"state", "STATE"},
	        {"hint", "HINT"},
	        {"node", "NODE"},
	        {"driver", "DRIVER"},
	        {"bound_driver", "BOUND"},
	        {"pid", "PID"},
	        {"unit", "UNIT"},
	        {"unit_state", "UNIT-STATE"},
	        {"status", "STATUS"},
	        {"restarts", "RESTARTS"},
	        {"persistent", "PERSISTENT"},
	        {"backend", "BACKEND"},
	        {"source", "SOURCE"},
	        {"connection", "CONNECTION"},
	        {"reconnect_timeout", "RECONNECT-TIMEOUT"},
	        {"io_timeout", "IO-TIMEOUT"},
	        {"socket_owner", "SOCKET-OWNER"},
	        {"target_features", "TARGET-FEATURES"},
	        {"rings", "RINGS"},
	        {"follows_target_size", "FOLLOWS-SIZE"},
	        {"file", "FILE"},
	        {"mode", "MODE"},
	        {"direct", "DIRECT"},
	        {"size_bytes", "SIZE"},
	        {"block_size", "BLOCK"},
	        {"physical_block_size", "PHY-BLOCK"},
	        {"queues", "QUEUES"},
	        {"queue_depth", "DEPTH"},
	        {"read_only", "RO"},
	        {"serial", "SERIAL"},
	        {"cpus", "CPUS"},
	        {"bounce_size", "BOUNCE-SIZE"},
	        {"bounce_memory", "BOUNCE-MEMORY"},
	        {"bounce_in_use", "BOUNCE-IN-USE"},
	        {"bounce_registered", "BOUNCE-REG"},
	};
	return columns;
}

Record device_record(const DeviceReport &r)
{
	const DeviceSpec &spec = r.record.spec;
	Record rec;
	rec.set("name", spec.name);
	rec.set("state", r.state);
	rec.set("hint", or_null(r.hint));
	rec.set("node", r.node ? nlohmann::ordered_json(*r.node) : nlohmann::ordered_json(nullptr));
	rec.set("driver", std::string(driver_kernel_name(spec.driver)));
	rec.set("bound_driver", or_null(r.bound_driver));
	rec.set("pid", r.worker.pid > 0 ? nlohmann::ordered_json(r.worker.pid)
	                                : nlohmann::ordered_json(nullptr));
	rec.set("unit", or_null(r.record.unit));
	rec.set("unit_state", or_null(r.worker.unit_state));
	rec.set("status", or_null(r.worker.status_text));
	rec.set("restarts", r.worker.restarts);
	rec.set("persistent", r.record.persistent);
	rec.set("backend", spec.backend);
	std::string mode =
	        std::string(spec.direct ? "direct" : "buffered") + (spec.read_only ? ",ro" : ",rw");
	std::string source = spec_source(spec);
	if (source.empty())
		rec.set("source", nullptr);
	else if (!spec.file.empty())
		rec.set("source", source, source + " (" + mode + ")");
	else
		rec.set("source", source);
	if (!is_remote_backend(spec))
		rec.set("connection", nullptr);
	else if (r.link)
		rec.set("connection", describe_link(*r.link));
	else
		rec.set("connection", "unknown");
	if (!is_network_backend(spec))
		rec.set("reconnect_timeout", nullptr);
	else
		// A number in JSON whatever it is (0: for ever), for scripts.
		rec.set("reconnect_timeout", spec.reconnect_timeout_s,
		        spec.reconnect_timeout_s == 0 ? "forever"
		                                      : std::to_string(spec.reconnect_timeout_s));
	if (spec.backend != "nbd")
		rec.set("io_timeout", nullptr);
	else
		rec.set("io_timeout", spec.io_timeout_s,
		        spec.io_timeout_s == 0 ? "forever" : std::to_string(spec.io_timeout_s));
	if (spec.socket_owner_uid)
		rec.set("socket_owner", describe_user(*spec.socket_owner_uid));
	else
		rec.set("socket_owner", nullptr);
	if (spec.backend == "vhost-user") {
		std::string names;
		for (const std::string &f : vhost_user_feature_names(spec.vhost_user_features))
			names += (names.empty() ? "" : ",") + f;
		rec.set("target_features", names);
		rec.set("rings", spec.rings);
		if (r.link && r.link->follows_target_size)
			rec.set("follows_target_size", *r.link->follows_target_size);
		else
			rec.set("follows_target_size", nullptr);
	} else {
		rec.set("target_features", nullptr);
		rec.set("rings", nullptr);
		rec.set("follows_target_size", nullptr);
	}
	if (spec.file.empty()) {
		rec.set("file", nullptr);
		rec.set("mode", nullptr);
	} else {
		rec.set("file", spec.file, spec.file + " (" + mode + ")");
		rec.set("mode", mode);
	}
	// O_DIRECT applies to a backing file or block device only.
	if (spec.file.empty())
		rec.set("direct", nullptr);
	else
		rec.set("direct", spec.direct);
	rec.set("size_bytes", spec.size_bytes, format_size(spec.size_bytes));
	rec.set("block_size", spec.block_size);
	rec.set("physical_block_size", spec.physical_block_size);
	rec.set("queues", spec.queues);
	rec.set("queue_depth", spec.queue_depth);
	rec.set("read_only", spec.read_only);
	rec.set("serial", spec.serial);
	rec.set("cpus", spec.cpus.empty() ? "all" : spec.cpus);
	if (spec.driver != Driver::virtio) {
		for (const char *key :
		     {"bounce_size", "bounce_memory", "bounce_in_use", "bounce_registered"})
			rec.set(key, nullptr);
		return rec;
	}
	rec.set("bounce_size", r.bounce_size, format_size(r.bounce_size));
	rec.set("bounce_memory", spec.bounce_memory);
	// What the kernel copies I/O through now: its own pages until vdused
	// registered its memory (at the driver's first I/O).
	// Null while no vdused serves the device, as vdusectl(8) says.
	if (r.worker.running && spec.bounce_memory == "default")
		rec.set("bounce_in_use", "kernel");
	else if (r.worker.running && r.bounce)
		rec.set("bounce_in_use", r.bounce->memory);
	else
		rec.set("bounce_in_use", nullptr);
	if (r.bounce)
		rec.set("bounce_registered", r.bounce->registered);
	else
		rec.set("bounce_registered", spec.bounce_memory == "default"
		                                     ? nlohmann::ordered_json(false)
		                                     : nlohmann::ordered_json(nullptr));
	return rec;
}

std::vector<Record> read_device_records(const StateDir &state,
                                        const std::vector<std::string> &names, int &rc)
{
	std::vector<Record> records;
	for (const auto &name : names) {
		auto record = state.read(name);
		if (!record) {
			rc = report(record.error());
			continue;
		}
		records.push_back(device_record(device_report(*record, state)));
	}
	return records;
}

} // namespace vduse
