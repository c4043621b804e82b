#include "context.h"

#include <iostream>

namespace vduse
{

Result<UniqueFd> lock_state(const Context &ctx)
{
	return ctx.state.lock([](pid_t holder) {
		print_error(holder > 0 ? "waiting for another vdusectl (pid " +
		                                 std::to_string(holder) + ")"
		                       : "waiting for another vdusectl");
	});
}

Result<LockedRecord> lock_record(const Context &ctx, const std::string &name)
{
	if (auto st = validate_name(name); !st)
		return st.error();
	auto lock = lock_state(ctx);
	if (!lock)
		return lock.error();
	auto record = ctx.state.read(name);
	if (!record)
		return record.error();
	return LockedRecord{std::move(*lock), std::move(*record)};
}

Status save_record(const Context &ctx, const DeviceRecord &record)
{
	if (auto st = ctx.state.write(record); !st)
		return st;
	if (record.persistent)
		return ctx.persist.write(record.spec);
	return {};
}

void remove_spec_unless_kept(const Context &ctx, const std::string &name, bool keep)
{
	if (!ctx.persist.has(name))
		return;
	std::string path = ctx.persist.spec_path(name).string();
	if (keep) {
		print_error(name + ": its spec " + path +
		            " is kept: the device comes back at boot, or with vdusectl restore " +
		            name);
		return;
	}
	ctx.persist.remove(name);
	print_error(name + ": its spec " + path +
	            " is removed too: the device will not come back at boot (del --keep-spec "
	            "keeps it)");
}

void print_error(const std::string &message)
{
	std::cerr << "vdusectl: " << message << '\n';
}

int report(const Error &error)
{
	print_error(error.message);
	return error.is_usage() ? exit_usage : exit_failure;
}

} // namespace vduse
