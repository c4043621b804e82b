// vdusectl recover and restart: a new vdused for a device that keeps its
// driver. The new daemon takes the queues over from the in-flight log, so
// the driver sees no error (vdused/device_server.cpp).
#include "verbs.h"

#include "vduse_control.h"
#include "worker.h"

#include <iostream>

namespace vduse
{

namespace
{

using namespace std::chrono_literals;

Result<DeviceRecord> read_device(Context &ctx, const std::string &name)
{
	if (auto st = validate_name(name); !st)
		return st.error();
	auto record = ctx.state.read(name);
	if (!record)
		return record.error();
	if (!device_exists(name))
		return Error{ENODEV, name + ": the VDUSE device is gone; del it and add it again"};
	return record;
}

int start_again(Context &ctx, DeviceRecord &record, const char *done)
{
	if (auto st = start_worker(ctx, record, 30s); !st) {
		print_error(st.error().message);
		return exit_failure;
	}
	if (auto st = ctx.state.write(record); !st) {
		print_error(st.error().message);
		return exit_failure;
	}
	std::cout << record.spec.name << ' ' << done << " (pid " << record.pid << ")\n";
	return exit_ok;
}

} // namespace

int verb_recover(Context &ctx, const std::string &name)
{
	auto lock = ctx.state.lock();
	if (!lock) {
		print_error(lock.error().message);
		return exit_failure;
	}
	auto record = read_device(ctx, name);
	if (!record) {
		print_error(record.error().message);
		return record.error().code == EINVAL ? exit_usage : exit_failure;
	}
	if (worker_state(*record).running) {
		print_error(name + ": vdused is running (pid " +
		            std::to_string(worker_state(*record).pid) + "); nothing to recover");
		return exit_failure;
	}
	return start_again(ctx, *record, "recovered");
}

int verb_restart(Context &ctx, const std::string &name)
{
	auto lock = ctx.state.lock();
	if (!lock) {
		print_error(lock.error().message);
		return exit_failure;
	}
	auto record = read_device(ctx, name);
	if (!record) {
		print_error(record.error().message);
		return record.error().code == EINVAL ? exit_usage : exit_failure;
	}
	// A stopped vdused completes what it had taken first (QueueWorker::stop).
	if (auto st = stop_worker(ctx, *record, 30s); !st) {
		print_error(st.error().message);
		return exit_failure;
	}
	return start_again(ctx, *record, "restarted");
}

} // namespace vduse
