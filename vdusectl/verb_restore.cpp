// vdusectl restore: add every device of the persistent directory that is not
// there yet (at boot, from vduse-restore.service).
#include "add_device.h"
#include "verb.h"

#include <spdlog/spdlog.h>

namespace vduse
{

namespace
{

enum class Which { all, local, network };

int restore_devices(Context &ctx, Which which)
{
	int rc = exit_ok;
	for (const auto &name : ctx.persist.names()) {
		auto spec = ctx.persist.read(name);
		if (!spec) {
			rc = report(spec.error());
			continue;
		}
		if ((which == Which::local && is_network_backend(*spec)) ||
		    (which == Which::network && !is_network_backend(*spec)))
			continue;
		if (ctx.state.has(name)) {
			spdlog::info("{}: already present", name);
			continue;
		}
		AddOptions options;
		options.spec = *spec;
		// An image that vanished must not come back as a new empty one:
		// file and loop take their size from the file, which must exist.
		if (spec->backend == "null")
			options.size = std::to_string(spec->size_bytes);
		options.driver = std::string(driver_option_name(spec->driver));
		options.block_size_given = true;
		options.restoring = true;
		if (add_device(ctx, options, JsonMode::off) != exit_ok)
			rc = exit_failure;
	}
	return rc;
}

} // namespace

Verb restore_verb()
{
	return {"restore", "Add every persistent device that is not there yet (run at boot)",
	        [](CLI::App &cmd) {
		        auto local = std::make_shared<bool>(false);
		        auto network = std::make_shared<bool>(false);
		        auto *l = cmd.add_flag(
		                "--local", *local,
		                "Only devices with a local backend (null, file, loop, vhost-user)");
		        cmd.add_flag("--network", *network,
		                     "Only devices with a network backend (nbd, rbd)")
		                ->excludes(l);
		        return VerbHandler([local, network](Context &ctx) {
			        return restore_devices(ctx, *local     ? Which::local
			                                    : *network ? Which::network
			                                               : Which::all);
		        });
	        }};
}

} // namespace vduse
