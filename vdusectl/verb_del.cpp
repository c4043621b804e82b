// vdusectl del: detach from the vdpa bus (the daemon answers the reset), stop
// the daemon, destroy the VDUSE device and forget its record.
#include "verb.h"

#include "force_delete.h"
#include "node_users.h"
#include "vdpa/vdpa_netlink.h"
#include "vdpa/vdpa_sysfs.h"
#include "vduse/vduse_control.h"
#include "worker.h"

#include <algorithm>
#include <memory>
#include <spdlog/spdlog.h>

namespace vduse
{

namespace
{

using namespace std::chrono_literals;

struct DelOptions {
	std::chrono::seconds wait{10};
	bool force = false;     // remove what is left of a device whatever its record says
	bool keep_spec = false; // keep the persistent spec: the device comes back at boot
};

Status delete_device(Context &ctx, const std::string &name, const DelOptions &options)
{
	if (options.force)
		return force_delete_device(ctx, name, {options.wait, options.keep_spec});
	auto record = ctx.state.read(name);
	if (!record)
		return record.error();
	if (auto st = wait_for_vhost_holders(name, options.wait); !st)
		return st;
	// Removing a /dev/vdX under a mounted file system loses what it has not
	// written yet: refuse, as bind does, and say who uses it.
	if (auto node = vdpa_device_node(name); node && node->rfind("/dev/vd", 0) == 0) {
		if (std::string in_use = node_in_use(*node); !in_use.empty())
			return failure(name + ": " + in_use +
			               "; unmount or close it, or use --force");
	}
	if (vdpa_device_exists(name)) {
		// DEV_DEL resets the device: a daemon must answer, or the kernel
		// waits for msg_timeout and marks the device broken.
		// A broken device's reset is not sent, let alone waited for
		// (vduse_dev_msg_sync): no daemon is needed to detach it.
		if (!worker_state(*record).running && !device_broken(name)) {
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
	remove_spec_unless_kept(ctx, name, options.keep_spec);
	ctx.state.remove(name);
	return {};
}

int delete_devices(Context &ctx, const std::vector<std::string> &names, bool all,
                   const DelOptions &options)
{
	if (all == !names.empty())
		return report(usage_error(all ? "del: --all takes no device names"
		                              : "del: name the devices to delete, or use --all"));
	if (auto st = validate_names(names); !st)
		return report(st.error());
	auto lock = lock_state(ctx);
	if (!lock)
		return report(lock.error());
	int rc = exit_ok;
	for (const auto &name : all ? ctx.state.names() : names) {
		if (auto st = validate_name(name); !st) {
			rc = std::max(rc, report(failure(ctx.state.record_path(name).string() +
			                                 ": not a device record (" +
			                                 st.error().message + ")")));
			continue;
		}
		if (auto st = delete_device(ctx, name, options); !st)
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
			        DelOptions options;
		        };
		        auto args = std::make_shared<Args>();
		        cmd.add_option("names", args->names, "Devices to remove")
		                ->type_name("NAME");
		        cmd.add_flag("-a,--all", args->all, "Remove every device vdusectl created");
		        cmd.add_option("--wait", args->wait,
		                       "Seconds to wait for a process holding /dev/vhost-vdpa-N to "
		                       "close it (default 10)")
		                ->check(CLI::Range(0u, 3600u))
		                ->type_name("SECONDS");
		        cmd.add_flag("-f,--force", args->options.force,
		                     "Remove what is left of a device whose record is unreadable, "
		                     "whose VDUSE device is gone or whose daemon cannot start");
		        cmd.add_flag("-k,--keep-spec", args->options.keep_spec,
		                     "Keep a persistent device's spec: it comes back at the next "
		                     "boot (vdusectl restore)");
		        return VerbHandler([args](Context &ctx) {
			        args->options.wait = std::chrono::seconds(args->wait);
			        return delete_devices(ctx, args->names, args->all, args->options);
		        });
	        }};
}

} // namespace vduse
