// The systemd manager over D-Bus (sd-bus): start and stop units, wait for
// their jobs, reload, and read a unit's state.
#pragma once

#include "base/result.h"

#include <chrono>
#include <memory>
#include <string>
#include <sys/types.h>

struct sd_bus;

namespace vduse
{

struct UnitState {
	std::string active_state; // "active", "inactive", "failed", "activating", ...
	std::string sub_state;    // "running", "dead", ...
	std::string status_text;  // the unit's STATUS= line
	pid_t main_pid = 0;
	uint32_t restarts = 0; // NRestarts
};

class SystemdManager
{
public:
	// Whether systemd is PID 1 (sd_booted) and $VDUSE_NO_SYSTEMD is not set.
	static bool available();
	// As root, systemd's private socket (works before dbus runs, early at
	// boot, as systemctl does); otherwise the system bus.
	static Result<SystemdManager> connect();

	// Starts the unit and waits for its job: for a Type=notify service that
	// is until READY=1. A failed job returns its result ("failed", "timeout").
	Status start_unit(const std::string &unit, std::chrono::milliseconds timeout);
	Status stop_unit(const std::string &unit, std::chrono::milliseconds timeout);
	// daemon-reload: returns once the manager has reloaded.
	Status reload();
	// Forgets a failed unit's state (systemctl reset-failed).
	void reset_failed(const std::string &unit);
	Result<UnitState> unit_state(const std::string &unit);
	// The manager's SystemState: "running", "degraded", "starting",
	// "stopping" (shutting down), ... (what systemctl is-system-running says).
	Result<std::string> system_state();

private:
	struct BusDeleter {
		void operator()(sd_bus *bus) const;
	};
	explicit SystemdManager(sd_bus *bus) : bus_(bus) {}
	Status run_job(const char *method, const char *verb, const std::string &unit,
	               std::chrono::milliseconds timeout);
	std::unique_ptr<sd_bus, BusDeleter> bus_;
};

// The unit name of the worker of device NAME: vdused@NAME.service, escaped.
std::string worker_unit_name(const std::string &device);

// The last lines the unit logged to the journal, oldest first, one per line.
std::string unit_journal_tail(const std::string &unit, unsigned lines);

} // namespace vduse
