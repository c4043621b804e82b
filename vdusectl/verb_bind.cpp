// vdusectl bind: move a running device between the host (virtio_vdpa,
// /dev/vdX) and a VM (vhost_vdpa, /dev/vhost-vdpa-N). Unbinding resets the
// device: vdused finishes what it had taken and the new driver starts afresh.
// A detached device (vdpa dev del by hand) is put back on the bus first.
#include "verb.h"

#include "device_report.h"
#include "node_users.h"
#include "vdpa/vdpa_netlink.h"
#include "vdpa/vdpa_sysfs.h"
#include "worker.h"

#include <iostream>
#include <memory>

namespace vduse
{

namespace
{

using namespace std::chrono_literals;

struct BindArgs {
	std::string name;
	std::string driver;
	bool force = false;
};

int bind_device(Context &ctx, const BindArgs &args)
{
	auto locked = lock_record(ctx, args.name);
	if (!locked)
		return report(locked.error());
	DeviceRecord &record = locked->record;
	const std::string &name = args.name;
	// Without --driver: the one the device was bound to.
	auto driver = args.driver.empty() ? Result<Driver>(record.spec.driver)
	                                  : parse_driver(args.driver);
	if (!driver)
		return report(with_context(args.name, driver.error()));
	if (auto st = require_device_state("bind", record, Need::attached); !st)
		return report(st.error());
	bool custom_bounce = record.spec.bounce_size != 0 || record.spec.bounce_memory != "default";
	if (*driver != Driver::virtio && record.spec.rings == "direct")
		return report(usage_error(name + ": its vhost-user target serves the rings "
		                                 "directly (--rings direct), which only the virtio "
		                                 "driver allows; add it again without it to give "
		                                 "it to a VM"));
	if (*driver != Driver::virtio && custom_bounce)
		return report(usage_error(name + ": it has its own bounce buffer settings, which "
		                                 "only the virtio driver uses; add it again "
		                                 "without them to give it to a VM"));
	if (!vdpa_device_exists(name)) {
		auto netlink = VdpaNetlink::connect();
		if (!netlink)
			return report(netlink.error());
		if (auto st = netlink->add_device(name); !st)
			return report(st.error());
	}
	std::string wanted(driver_kernel_name(*driver));
	std::string bound = vdpa_bound_driver(name);
	auto node = vdpa_device_node(name);
	if (bound == wanted && node) {
		std::cout << name << ' ' << *node << '\n';
		return exit_ok;
	}
	if (node) {
		std::string in_use = node_in_use(*node);
		// vhost-vdpa's removal waits for the last close of its node
		// (drivers/vhost/vdpa.c, vhost_vdpa_remove): unbinding under an
		// open fd would hang, so not even --force does it.
		bool vhost = node->rfind("/dev/vhost-vdpa-", 0) == 0;
		if (!in_use.empty() && (vhost || !args.force))
			return report(failure(name + ": " + in_use +
			                      (vhost ? "; close it first"
			                             : "; unmount or close it, or use --force")));
	}
	if (auto st = vdpa_bind(name, *driver); !st)
		return report(st.error());
	auto new_node = vdpa_wait_for_node(name, 10s);
	if (!new_node)
		return report(new_node.error());
	record.spec.driver = *driver;
	if (auto st = save_record(ctx, record); !st)
		return report(st.error());
	std::cout << name << ' ' << *new_node << '\n';
	return exit_ok;
}

} // namespace

Verb bind_verb()
{
	return {"bind", "Move a device between the host and a VM, or put a detached one back",
	        [](CLI::App &cmd) {
		        auto args = std::make_shared<BindArgs>();
		        cmd.add_option("name", args->name, "The device")
		                ->required()
		                ->type_name("NAME");
		        cmd.add_option(
		                   "--driver", args->driver,
		                   "virtio (host /dev/vdX) or vhost (/dev/vhost-vdpa-N, for a "
		                   "VM) (default: the one it has; a detached device is put back "
		                   "on the vdpa bus)")
		                ->type_name("virtio|vhost");
		        cmd.add_flag("--force", args->force,
		                     "Unbind /dev/vdX even while it is mounted or open (its users "
		                     "get I/O errors)");
		        return VerbHandler(
		                [args](Context &ctx) { return bind_device(ctx, *args); });
	        }};
}

} // namespace vduse
