#include "force_delete.h"

#include "base/fd_holders.h"
#include "daemon_launcher.h"
#include "reset_responder.h"
#include "systemd/systemd_manager.h"
#include "unit_dropin.h"
#include "vdpa/vdpa_netlink.h"
#include "vdpa/vdpa_sysfs.h"
#include "vduse/vduse_control.h"
#include "worker.h"

#include <optional>
#include <spdlog/spdlog.h>
#include <thread>

namespace vduse
{

using namespace std::chrono_literals;

Status wait_for_vhost_holders(const std::string &name, std::chrono::seconds timeout)
{
	auto node = vdpa_device_node(name);
	if (!node || node->rfind("/dev/vhost-vdpa-", 0) != 0)
		return {};
	auto deadline = std::chrono::steady_clock::now() + timeout;
	bool said = false;
	for (;;) {
		auto holders = fd_holders(*node);
		if (holders.empty())
			return {};
		if (std::chrono::steady_clock::now() >= deadline)
			return failure(name + ": " + *node + " is held open by " +
			               describe_holders(holders) +
			               "; the kernel cannot delete the device until it is closed");
		if (!said) {
			spdlog::warn("{}: waiting up to {} s for {} to close {}", name,
			             timeout.count(), describe_holders(holders), *node);
			said = true;
		}
		std::this_thread::sleep_for(100ms);
	}
}

namespace
{

// Stops every vdused serving NAME: the record's, the unit named after it,
// and any vdused holding /dev/vduse/NAME (one the record lost).
void stop_any_worker(const Context &ctx, const std::string &name,
                     const Result<DeviceRecord> &record)
{
	if (record)
		(void)stop_worker(ctx, *record, 10s);
	if (ctx.use_systemd) {
		if (auto manager = SystemdManager::connect()) {
			std::string unit = worker_unit_name(name);
			if (auto state = manager->unit_state(unit);
			    state && state->active_state != "inactive")
				(void)manager->stop_unit(unit, 10s);
			manager->reset_failed(unit);
		}
	}
	for (const FdHolder &holder : fd_holders(device_node_path(name))) {
		if (daemon_alive(holder.pid, name)) {
			spdlog::info("{}: stopping vdused pid {}", name, holder.pid);
			(void)stop_daemon(holder.pid, name, 5s);
		}
	}
}

} // namespace

// del --force: whatever the record says (unreadable, or naming a daemon or a
// backing file that is gone), remove everything vdusectl made for NAME.
Status force_delete_device(Context &ctx, const std::string &name, const ForceDeleteOptions &options)
{
	auto record = ctx.state.read(name);
	bool recorded = record || record.error().code != ENOENT;
	if (!recorded && !device_exists(name) && !vdpa_device_exists(name) &&
	    !ctx.persist.has(name))
		return record.error();
	if (!record && recorded)
		spdlog::warn("{}; removing what is left of '{}'", record.error().message, name);
	if (auto st = wait_for_vhost_holders(name, options.wait); !st)
		return st;
	stop_any_worker(ctx, name, record);
	if (vdpa_device_exists(name)) {
		// Nobody serves the device now: answer the reset of the detach here.
		std::optional<ResetResponder> responder;
		if (device_exists(name)) {
			auto started = ResetResponder::start(name);
			if (!started)
				return started.error();
			responder.emplace(std::move(*started));
		}
		auto netlink = VdpaNetlink::connect();
		if (!netlink)
			return netlink.error();
		if (auto st = netlink->del_device(name); !st)
			return st;
	}
	if (device_exists(name)) {
		if (auto st = destroy_vduse_device(name); !st)
			return st;
	}
	bool changed = false;
	remove_unit_dropins(name, changed);
	remove_spec_unless_kept(ctx, name, options.keep_spec);
	ctx.state.remove(name);
	return {};
}

} // namespace vduse
