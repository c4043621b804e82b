// vdusectl recover and restart: a new vdused for a device that keeps its
// driver. The new daemon takes the queues over from the in-flight log, so
// the driver sees no error (vdused/device_server.cpp).
#include "verb.h"

#include "device_report.h"
#include "worker.h"

#include <iostream>
#include <memory>

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
	auto locked = lock_record(ctx, name);
	if (!locked)
		return report(locked.error());
	DeviceRecord &record = locked->record;
	// restart: a stopped vdused completes what it had taken first
	// (QueueWorker::stop), so its successor has nothing to resubmit.
	Need need = how == Replace::dead_only ? Need::recoverable : Need::replaceable;
	if (auto st = require_device_state(how == Replace::dead_only ? "recover" : "restart",
	                                   record, need);
	    !st)
		return report(st.error());
	if (how == Replace::running) {
		if (auto st = stop_worker(ctx, record, 30s); !st)
			return report(st.error());
	}
	if (auto st = start_worker(ctx, record, 30s); !st)
		return report(st.error());
	if (auto st = ctx.state.write(record); !st)
		return report(st.error());
	std::cout << name << ' ' << done << " (pid " << record.pid << ")\n";
	return exit_ok;
}

template <Replace how>
VerbHandler declare_replace(CLI::App &cmd)
{
	auto device = std::make_shared<std::string>();
	cmd.add_option("name", *device, "Device")->required()->type_name("NAME");
	return [device](Context &ctx) {
		return replace_worker(ctx, *device, how,
		                      how == Replace::dead_only ? "recovered" : "restarted");
	};
}

} // namespace

Verb recover_verb()
{
	return {"recover", "Start a new vdused for a device whose daemon died; no I/O is lost",
	        declare_replace<Replace::dead_only>};
}

Verb restart_verb()
{
	return {"restart", "Replace a device's vdused (e.g. after an upgrade) without I/O errors",
	        declare_replace<Replace::running>};
}

} // namespace vduse
