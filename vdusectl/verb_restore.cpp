// vdusectl restore: add every device of the persistent directory that is not
// there yet (at boot, from vduse-restore.service).
#include "verbs.h"

#include <spdlog/spdlog.h>

namespace vduse
{

int verb_restore(Context &ctx)
{
	int rc = exit_ok;
	for (const auto &name : ctx.persist.names()) {
		auto spec = ctx.persist.read(name);
		if (!spec) {
			print_error(spec.error().message);
			rc = exit_failure;
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
		if (verb_add(ctx, options) != exit_ok)
			rc = exit_failure;
	}
	return rc;
}

} // namespace vduse
