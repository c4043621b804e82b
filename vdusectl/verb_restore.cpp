// vdusectl restore: add every device of the persistent directory that is not
// there yet (at boot, from vduse-restore.service).
#include "add_device.h"
#include "verb.h"

#include <spdlog/spdlog.h>

namespace vduse
{

namespace
{

int restore_devices(Context &ctx)
{
	int rc = exit_ok;
	for (const auto &name : ctx.persist.names()) {
		auto spec = ctx.persist.read(name);
		if (!spec) {
			rc = report(spec.error());
			continue;
		}
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
	        [](CLI::App &) { return VerbHandler(restore_devices); }};
}

} // namespace vduse
