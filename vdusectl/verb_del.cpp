// vdusectl del: detach from the vdpa bus (the daemon answers the reset), stop
// the daemon, destroy the VDUSE device and forget its record.
#include "verb.h"

#include "base/fd_holders.h"
#include "vdpa/vdpa_netlink.h"
#include "vdpa/vdpa_sysfs.h"
#include "vduse/vduse_control.h"
#include "worker.h"

#include <algorithm>
#include <memory>
#include <spdlog/spdlog.h>
#include <thread>

namespace vduse
{

namespace
{

using namespace std::chrono_literals;

// The kernel's DEV_DEL of a device whose /dev/vhost-vdpa-N is open blocks
// until the fd is closed, holding the vdpa lock for every other vdpa call
// (drivers/vhost/vdpa.c, vhost_vdpa_remove waits for the last release).
// Wait a while for the holders to go, then refuse rather than hang.
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

Status delete_device(Context &ctx, const std::string &name, std::chrono::seconds wait)
{
	auto record = ctx.state.read(name);
	if (!record)
		return record.error();
	if (auto st = wait_for_vhost_holders(name, wait); !st)
		return st;
	if (vdpa_device_exists(name)) {
		// DEV_DEL resets the device: a daemon must answer, or the kernel
		// waits for msg_timeout and marks the device broken.
		if (!worker_state(*record).running) {
			// A daemon only to answer the reset of the detach: the
			// requests a dead one left are dropped with the device, so
			// its in-flight log (corrupt, perhaps) must not be taken over.
			ctx.state.remove_inflight(name);
			if (auto st = start_worker(ctx, *record, 30s); !st)
				return st;
		}
		auto netlink = VdpaNetlink::connect();
		if (!netlink)
			return netlink.error();
		if (auto st = netlink->del_device(name); !st)
			return st;
	}
	if (auto st = stop_worker(ctx, *record, 30s); !st)
		return st;
	forget_worker(*record);
	if (device_exists(name)) {
		if (auto st = destroy_vduse_device(name); !st)
			return st;
	}
	ctx.persist.remove(name); // a no-op unless the device was persistent
	ctx.state.remove(name);
	return {};
}

int delete_devices(Context &ctx, const std::vector<std::string> &names, bool all,
                   std::chrono::seconds wait)
{
	if (all == !names.empty())
		return report(usage_error(all ? "del: --all takes no device names"
		                              : "del: name the devices to delete, or use --all"));
	for (const auto &name : names) {
		if (auto st = validate_name(name); !st)
			return report(st.error());
	}
	auto lock = ctx.state.lock();
	if (!lock)
		return report(lock.error());
	int rc = exit_ok;
	for (const auto &name : all ? ctx.state.names() : names) {
		if (auto st = delete_device(ctx, name, wait); !st)
			rc = std::max(rc, report(st.error()));
	}
	return rc;
}

} // namespace

Verb del_verb()
{
	return {"del", "Remove devices and stop their daemons", [](CLI::App &cmd) {
		        struct Args {
			        std::vector<std::string> names;
			        bool all = false;
			        unsigned wait = 10;
		        };
		        auto args = std::make_shared<Args>();
		        cmd.add_option("names", args->names, "Devices to remove");
		        cmd.add_flag("-a,--all", args->all, "Remove every device vdusectl created");
		        cmd.add_option("--wait", args->wait,
		                       "Seconds to wait for a process holding /dev/vhost-vdpa-N to "
		                       "close it (default 10)")
		                ->check(CLI::Range(0u, 3600u));
		        return VerbHandler([args](Context &ctx) {
			        return delete_devices(ctx, args->names, args->all,
			                              std::chrono::seconds(args->wait));
		        });
	        }};
}

} // namespace vduse
