// vdusectl detach: take a running device off the vdpa bus (the state
// "detached"; bind puts it back). vdused@.service runs it with --at-shutdown
// as it stops, while vdused still answers: at reboot the kernel resets every
// virtio device (drivers/virtio/virtio.c, virtio_dev_shutdown), and a VDUSE
// device whose vdused is gone holds the reboot for the message timeout
// (drivers/vdpa/vdpa_user/vduse_dev.c, vduse_dev_msg_sync: 30 s by default).
#include "verb.h"

#include "device_report.h"
#include "node_users.h"
#include "systemd/systemd_manager.h"
#include "vdpa/vdpa_netlink.h"
#include "vdpa/vdpa_sysfs.h"

#include <memory>

namespace vduse
{

namespace
{

struct DetachArgs {
	std::string name;
	bool at_shutdown = false;
};

// Whether systemd is taking the system down.
bool shutting_down()
{
	if (!SystemdManager::available())
		return false;
	auto manager = SystemdManager::connect();
	if (!manager)
		return false;
	auto state = manager->system_state();
	return state && *state == "stopping";
}

int detach_device(Context &ctx, const DetachArgs &args)
{
	const std::string &name = args.name;
	if (args.at_shutdown && !shutting_down() && validate_name(name).ok())
		return exit_ok;
	auto locked = lock_record(ctx, name);
	if (!locked)
		return report(locked.error());
	DeviceRecord &record = locked->record;
	// A detached device stays as it is; one nobody serves is refused: its
	// reset would wait for an answer (the hint says what to do instead).
	if (auto st = require_device_state("detach", record, Need::attached); !st)
		return report(st.error());
	if (!vdpa_device_exists(name))
		return exit_ok;
	// Only a device bound to virtio_vdpa is reset at reboot (vhost_vdpa
	// has no shutdown callback, drivers/vhost/vdpa.c).
	if (args.at_shutdown && vdpa_bound_driver(name) != "virtio_vdpa")
		return exit_ok;
	if (auto node = vdpa_device_node(name)) {
		// vhost-vdpa's removal waits for the last close of its node
		// (drivers/vhost/vdpa.c, vhost_vdpa_remove); a /dev/vdX in use
		// would fail its users' I/O.
		if (std::string in_use = node_in_use(*node); !in_use.empty())
			return report(
			        failure(name + ": " + in_use + "; unmount or close it first"));
	}
	auto netlink = VdpaNetlink::connect();
	if (!netlink)
		return report(netlink.error());
	if (auto st = netlink->del_device(name); !st)
		return report(st.error());
	if (args.at_shutdown)
		print_error(name + ": taken off the vdpa bus for the shutdown while vdused still "
		                   "answers; the reboot does not wait for its reset");
	return exit_ok;
}

} // namespace

Verb detach_verb()
{
	return {"detach", "Take a running device off the vdpa bus (bind puts it back)",
	        [](CLI::App &cmd) {
		        auto args = std::make_shared<DetachArgs>();
		        cmd.add_option("name", args->name, "The device")
		                ->required()
		                ->type_name("NAME");
		        cmd.add_flag(
		                "--at-shutdown", args->at_shutdown,
		                "Only while systemd shuts the system down, and only a device "
		                "bound to virtio (what vduse-detach@.service runs as it stops)");
		        return VerbHandler(
		                [args](Context &ctx) { return detach_device(ctx, *args); });
	        }};
}

} // namespace vduse
