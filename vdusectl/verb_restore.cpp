// vdusectl restore: add every device of the persistent directory that is not
// there yet (at boot, from vduse-restore.service), or the ones named. A
// stale record (its VDUSE device gone) is forgotten and the device made
// again from its spec; each device is said: "NAME NODE" when added, "NAME
// skipped (STATE)" otherwise.
#include "add_device.h"
#include "device_report.h"
#include "verb.h"

#include <algorithm>
#include <iostream>
#include <optional>
#include <spdlog/spdlog.h>

namespace vduse
{

namespace
{

enum class Which { all, local, network };

struct RestoreArgs {
	std::vector<std::string> names;
	bool local = false;
	bool network = false;
};

// Forgets a stale record under the lock, so that add can take the name.
// Returns the device's state, or none when it has no record (or had a stale
// one): add it.
Result<std::optional<DeviceState>> forget_if_stale(Context &ctx, const std::string &name)
{
	auto lock = lock_state(ctx);
	if (!lock)
		return lock.error();
	if (!ctx.state.has(name))
		return std::optional<DeviceState>();
	auto record = ctx.state.read(name);
	if (!record)
		return record.error();
	DeviceState state = current_state(*record);
	if (state == DeviceState::stale) {
		forget_worker(*record);
		ctx.state.remove_inflight(name);
		ctx.state.remove(name);
		print_error(name + ": its VDUSE device was gone; making it again from its spec");
		return std::optional<DeviceState>();
	}
	return std::optional<DeviceState>(state);
}

int restore_one(Context &ctx, const DeviceSpec &spec, bool named)
{
	const std::string &name = spec.name;
	auto state = forget_if_stale(ctx, name);
	if (!state)
		return report(state.error());
	if (*state) {
		DeviceState now = **state;
		std::cout << name << " skipped (" << state_name(now) << ")\n";
		if (now == DeviceState::running)
			return exit_ok;
		// Not a good state: the admin named it, or boot should say so.
		auto record = ctx.state.read(name);
		print_error(name + ": " +
		            state_hint(now, name, record ? record->persistent : true));
		return named ? exit_failure : exit_ok;
	}
	AddOptions options;
	options.spec = spec;
	// An image that vanished must not come back as a new empty one:
	// file and loop take their size from the file, which must exist.
	if (spec.backend == "null")
		options.size = std::to_string(spec.size_bytes);
	options.driver = std::string(driver_option_name(spec.driver));
	options.block_size_given = true;
	options.restoring = true;
	return add_device(ctx, options, JsonMode::off) == exit_ok ? exit_ok : exit_failure;
}

int restore_devices(Context &ctx, const RestoreArgs &args)
{
	if (auto st = validate_names(args.names); !st)
		return report(st.error());
	Which which = args.local ? Which::local : args.network ? Which::network : Which::all;
	std::vector<std::string> persistent = ctx.persist.names();
	int rc = exit_ok;
	for (const auto &name : args.names) {
		if (std::find(persistent.begin(), persistent.end(), name) == persistent.end())
			rc = report(failure(name + ": not a persistent device (no spec in " +
			                    ctx.persist.root().string() + ")"));
	}
	for (const auto &name : args.names.empty() ? persistent : args.names) {
		if (std::find(persistent.begin(), persistent.end(), name) == persistent.end())
			continue;
		auto spec = ctx.persist.read(name);
		if (!spec) {
			rc = report(spec.error());
			continue;
		}
		if ((which == Which::local && is_network_backend(*spec)) ||
		    (which == Which::network && !is_network_backend(*spec)))
			continue;
		rc = std::max(rc, restore_one(ctx, *spec, !args.names.empty()));
	}
	return rc;
}

} // namespace

Verb restore_verb()
{
	return {"restore",
	        "Add the persistent devices that are not there (all, or those named; run at "
	        "boot)",
	        [](CLI::App &cmd) {
		        auto args = std::make_shared<RestoreArgs>();
		        cmd.add_option("names", args->names,
		                       "Persistent devices to restore (default: every one)")
		                ->type_name("PERSISTENT");
		        auto *l = cmd.add_flag(
		                "--local", args->local,
		                "Only devices with a local backend (null, file, loop, vhost-user)");
		        cmd.add_flag("--network", args->network,
		                     "Only devices with a network backend (nbd, rbd)")
		                ->excludes(l);
		        return VerbHandler(
		                [args](Context &ctx) { return restore_devices(ctx, *args); });
	        }};
}

} // namespace vduse
