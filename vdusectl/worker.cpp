#include "worker.h"

#include "config.h"
#include "daemon_launcher.h"
#include "systemd/systemd_manager.h"
#include "unit_dropin.h"

#include <spdlog/spdlog.h>

namespace vduse
{

namespace
{

Status start_unit(const Context &ctx, DeviceRecord &record, std::chrono::milliseconds timeout)
{
	const std::string &name = record.spec.name;
	std::string unit = worker_unit_name(name);
	auto manager = SystemdManager::connect();
	if (!manager)
		return manager.error();
	DropinInputs inputs{find_vdused(), VDUSE_INSTALL_VDUSED, ctx.state.root(),
	                    StateDir::default_root(), ctx.verbose};
	auto dropin = unit_dropin_text(record.spec, inputs);
	if (!dropin)
		return dropin.error();
	bool changed = false, detach_changed = false;
	if (auto st = install_unit_dropin(name, *dropin, changed); !st)
		return st;
	if (auto st = install_unit_dropin(name, detach_dropin_text(record.spec), detach_changed,
	                                  "vduse-detach");
	    !st)
		return st;
	if (changed || detach_changed) {
		spdlog::debug("{}: drop-in changed, reloading systemd", unit);
		if (auto st = manager->reload(); !st)
			return st;
	}
	// A unit that failed before keeps its failed state and restart counter.
	manager->reset_failed(unit);
	record.unit = unit;
	if (auto st = manager->start_unit(unit, timeout); !st) {
		std::string log = unit_journal_tail(unit, 8);
		(void)manager->stop_unit(unit, timeout);
		manager->reset_failed(unit);
		std::string message = name + ": " + st.error().message;
		if (!log.empty())
			message += "; its last log lines:\n" + log;
		return Error{st.error().code, message};
	}
	auto state = manager->unit_state(unit);
	record.pid = state ? state->main_pid : 0;
	return {};
}

} // namespace

Status start_worker(const Context &ctx, DeviceRecord &record, std::chrono::milliseconds timeout)
{
	if (ctx.use_systemd)
		return start_unit(ctx, record, timeout);
	record.unit.clear();
	auto pid = start_daemon(ctx.state, record.spec.name, ctx.verbose, timeout);
	if (!pid)
		return pid.error();
	record.pid = *pid;
	return {};
}

Status stop_worker(const Context & /*ctx*/, const DeviceRecord &record,
                   std::chrono::milliseconds timeout)
{
	if (record.unit.empty())
		return stop_daemon(record.pid, record.spec.name, timeout);
	auto manager = SystemdManager::connect();
	if (!manager)
		return manager.error();
	auto st = manager->stop_unit(record.unit, timeout);
	manager->reset_failed(record.unit);
	return st;
}

WorkerState worker_state(const DeviceRecord &record)
{
	WorkerState w;
	if (record.unit.empty()) {
		w.running = daemon_alive(record.pid, record.spec.name);
		w.pid = w.running ? record.pid : 0;
		return w;
	}
	auto manager = SystemdManager::connect();
	auto state =
	        manager ? manager->unit_state(record.unit) : Result<UnitState>(manager.error());
	if (!state) {
		w.unit_state = "unknown";
		return w;
	}
	w.unit_state = state->active_state + " (" + state->sub_state + ")";
	w.status_text = state->status_text;
	w.restarts = state->restarts;
	w.pid = state->main_pid;
	w.running = state->active_state == "active" || state->active_state == "reloading";
	return w;
}

void forget_worker(const DeviceRecord &record)
{
	if (record.unit.empty())
		return;
	bool changed = false;
	remove_unit_dropins(record.spec.name, changed);
}

} // namespace vduse
