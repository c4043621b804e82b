// vdusectl recover and restart: a new vdused for a device that keeps its
// driver. The new daemon takes the queues over from the in-flight log, so
// the driver sees no error (vdused/device_server.cpp).
#include "verbs.h"

#include "vduse/vduse_control.h"
#include "worker.h"

#include <iostream>

namespace vduse
{

namespace
{

using namespace std::chrono_literals;

enum class Replace {
	dead_only, // recover: only a device whose vdused is gone
	running,   // restart: stop the running vdused first
};

// Starts a new vdused for NAME, which takes the queues over from the
// in-flight log; prints "NAME DONE (pid N)".
int replace_worker(Context &ctx, const std::string &name, Replace how, const char *done)
{
	auto fail = [](const Error &error) {
		print_error(error.message);
		return exit_failure;
	};
	if (auto st = validate_name(name); !st) {
		print_error(st.error().message);
		return exit_usage;
	}
	auto lock = ctx.state.lock();
	if (!lock)
		return fail(lock.error());
	auto record = ctx.state.read(name);
	if (!record)
		return fail(record.error());
	if (!device_exists(name))
		return fail({ENODEV, name + ": the VDUSE device is gone; del it and add it again"});
	// restart: a stopped vdused completes what it had taken first
	// (QueueWorker::stop), so its successor has nothing to resubmit.
	if (how == Replace::dead_only) {
		WorkerState worker = worker_state(*record);
		if (worker.running)
			return fail({EBUSY, name + ": vdused is running (pid " +
			                            std::to_string(worker.pid) +
			                            "); nothing to recover"});
	} else if (auto st = stop_worker(ctx, *record, 30s); !st) {
		return fail(st.error());
	}
	if (auto st = start_worker(ctx, *record, 30s); !st)
		return fail(st.error());
	if (auto st = ctx.state.write(*record); !st)
		return fail(st.error());
	std::cout << name << ' ' << done << " (pid " << record->pid << ")\n";
	return exit_ok;
}

} // namespace

int verb_recover(Context &ctx, const std::string &name)
{
	return replace_worker(ctx, name, Replace::dead_only, "recovered");
}

int verb_restart(Context &ctx, const std::string &name)
{
	return replace_worker(ctx, name, Replace::running, "restarted");
}

} // namespace vduse
