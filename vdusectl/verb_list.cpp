// vdusectl list and show.
#include "verbs.h"

#include "device_status.h"
#include "base/size.h"
#include "table.h"

#include <iostream>

namespace vduse
{

namespace
{

std::string or_dash(const std::string &s)
{
	return s.empty() ? "-" : s;
}

} // namespace

int verb_list(Context &ctx)
{
	nlohmann::json array = nlohmann::json::array();
	Table table({"NAME", "BACKEND", "SIZE", "QUEUES", "DEPTH", "BLOCK", "RO", "DRIVER", "NODE",
	             "PID", "STATE", "FILE"});
	int rc = exit_ok;
	for (const auto &name : ctx.state.names()) {
		auto record = ctx.state.read(name);
		if (!record) {
			print_error(record.error().message);
			rc = exit_failure;
			continue;
		}
		DeviceStatus s = device_status(*record);
		nlohmann::json j = status_to_json(s);
		array.push_back(j);
		const DeviceSpec &spec = s.record.spec;
		table.add_row({spec.name, spec.backend, format_size(spec.size_bytes),
		               std::to_string(spec.queues), std::to_string(spec.queue_depth),
		               std::to_string(spec.block_size), spec.read_only ? "yes" : "no",
		               or_dash(s.driver), s.node.value_or("-"),
		               s.worker.pid > 0 ? std::to_string(s.worker.pid) : "-", s.state,
		               spec.file.empty()
		                       ? "-"
		                       : spec.file + " (" + j["mode"].get<std::string>() + ")"});
	}
	if (ctx.json)
		std::cout << array.dump(2) << '\n';
	else
		table.print(std::cout, !ctx.no_legend);
	return rc;
}

int verb_show(Context &ctx, const std::string &name)
{
	if (auto st = validate_name(name); !st) {
		print_error(st.error().message);
		return exit_usage;
	}
	auto record = ctx.state.read(name);
	if (!record) {
		print_error(record.error().message);
		return exit_failure;
	}
	nlohmann::json j = status_to_json(device_status(*record));
	if (ctx.json) {
		std::cout << j.dump(2) << '\n';
		return exit_ok;
	}
	for (const char *key : {"name",
	                        "state",
	                        "node",
	                        "driver",
	                        "requested_driver",
	                        "pid",
	                        "unit",
	                        "unit_state",
	                        "status",
	                        "persistent",
	                        "backend",
	                        "file",
	                        "mode",
	                        "size_bytes",
	                        "block_size",
	                        "physical_block_size",
	                        "queues",
	                        "queue_depth",
	                        "read_only",
	                        "serial"}) {
		const auto &value = j[key];
		std::string text = value.is_string() ? value.get<std::string>() : value.dump();
		std::cout << key << ": " << (value.is_null() ? "-" : text) << '\n';
	}
	return exit_ok;
}

} // namespace vduse
