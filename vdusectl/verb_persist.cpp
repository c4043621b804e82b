// vdusectl persist and unpersist: record a running device's spec under the
// persistent directory (recreated at boot by restore), or take it out.
#include "verb.h"

#include "config.h"
#include "device_report.h"

#include <iostream>
#include <memory>

namespace vduse
{

namespace
{

struct PersistArgs {
	std::vector<std::string> names;
	std::string json;
};

// Changes one device; its record's flag follows the persistent directory.
// NAME was validated by the caller.
Status set_persistent(Context &ctx, const std::string &name, bool persistent)
{
	auto record = ctx.state.read(name);
	if (!record) {
		// A spec left without its device (it failed at boot, or was
		// deleted by hand) can still be taken out.
		if (!persistent && ctx.persist.has(name)) {
			ctx.persist.remove(name);
			return {};
		}
		return record.error();
	}
	if (persistent) {
		if (auto st = ctx.persist.write(record->spec); !st)
			return st;
	} else {
		ctx.persist.remove(name);
		if (ctx.persist.has(name))
			return failure(name + ": cannot remove " +
			               ctx.persist.spec_path(name).string());
	}
	record->persistent = persistent;
	return ctx.state.write(*record);
}

int change_devices(Context &ctx, const PersistArgs &args, bool persistent)
{
	auto mode = json_mode(args.json);
	if (!mode)
		return report(mode.error());
	if (auto st = validate_names(args.names); !st)
		return report(st.error());
	auto lock = lock_state(ctx);
	if (!lock)
		return report(lock.error());
	int rc = exit_ok;
	std::vector<std::string> changed;
	for (const auto &name : args.names) {
		if (auto st = set_persistent(ctx, name, persistent); !st) {
			rc = report(st.error());
			continue;
		}
		changed.push_back(name);
		if (*mode == JsonMode::off)
			std::cout << name << (persistent ? " persistent" : " not persistent")
			          << '\n';
	}
	if (*mode != JsonMode::off) {
		int ignored = exit_ok;
		std::vector<std::string> present;
		for (const auto &name : changed)
			if (ctx.state.has(name))
				present.push_back(name);
		std::cout << format_json(
		        records_to_json(read_device_records(ctx.state, present, ignored)), *mode);
	}
	return rc;
}

VerbHandler declare(CLI::App &cmd, bool persistent)
{
	auto args = std::make_shared<PersistArgs>();
	cmd.add_option("names", args->names, "Devices")->required()->type_name("NAME");
	add_json_option(cmd, args->json, "Print the devices as show --json does (an array)");
	return [args, persistent](Context &ctx) { return change_devices(ctx, *args, persistent); };
}

} // namespace

Verb persist_verb()
{
	return {"persist",
	        "Record devices under " VDUSE_PERSIST_DIR " so that they come back at boot",
	        [](CLI::App &cmd) { return declare(cmd, true); }};
}

Verb unpersist_verb()
{
	return {"unpersist", "Stop recreating devices at boot; they keep running",
	        [](CLI::App &cmd) { return declare(cmd, false); }};
}

} // namespace vduse
