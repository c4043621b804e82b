// The vdused serving a device: started as vdused@NAME.service when systemd is
// PID 1 (or spawned directly otherwise), stopped, and asked how it is.
#pragma once

#include "context.h"
#include "state/state_dir.h"

#include <chrono>
#include <string>

namespace vduse
{

struct WorkerState {
	bool running = false;
	pid_t pid = 0;
	std::string unit_state;  // "active (running)", "failed (failed)", "" without a unit
	std::string status_text; // the daemon's sd_notify STATUS= line, "" without a unit
	uint32_t restarts = 0;
};

// Starts the worker and waits until it is ready; fills record.pid and
// record.unit. A failure names the unit and shows its last journal lines.
Status start_worker(const Context &ctx, DeviceRecord &record, std::chrono::milliseconds timeout);
// Stops it and waits until it is gone.
Status stop_worker(const Context &ctx, const DeviceRecord &record,
                   std::chrono::milliseconds timeout);
WorkerState worker_state(const DeviceRecord &record);
// Removes what start_worker wrote for the unit (its runtime drop-in).
void forget_worker(const DeviceRecord &record);

} // namespace vduse
