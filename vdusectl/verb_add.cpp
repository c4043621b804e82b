// vdusectl add: create the VDUSE device, start its vdused, attach it to the
// vdpa bus, bind the requested driver and wait for the node.
#include "verbs.h"

#include "blk_config.h"
#include "daemon_launcher.h"
#include "device_status.h"
#include "size.h"
#include "undo.h"
#include "vdpa_netlink.h"
#include "vdpa_sysfs.h"
#include "vduse_control.h"

#include <iostream>
#include <linux/virtio_ids.h>
#include <spdlog/spdlog.h>

namespace vduse
{

namespace
{

using namespace std::chrono_literals;

bool name_taken(const StateDir &state, const std::string &name)
{
	return state.has(name) || device_exists(name) || vdpa_device_exists(name);
}

std::string first_free_name(const StateDir &state)
{
	for (unsigned i = 0;; ++i) {
		std::string name = "vduse" + std::to_string(i);
		if (!name_taken(state, name))
			return name;
	}
}

// Checks the options and completes the spec; returns false after printing why.
bool complete_spec(const StateDir &state, AddOptions &options)
{
	DeviceSpec &spec = options.spec;
	std::string who = spec.name.empty() ? std::string("add") : spec.name;
	auto size = parse_size(options.size);
	if (!size) {
		print_error(who + ": " + size.error().message);
		return false;
	}
	spec.size_bytes = *size;
	auto driver = parse_driver(options.driver);
	if (!driver) {
		print_error(who + ": " + driver.error().message);
		return false;
	}
	spec.driver = *driver;
	if (spec.name.empty())
		spec.name = first_free_name(state);
	if (auto st = validate_spec(spec); !st) {
		print_error(st.error().message);
		return false;
	}
	return true;
}

Status create_vduse_device(const DeviceSpec &spec)
{
	auto control = VduseControl::open();
	if (!control)
		return control.error();
	VduseDeviceConfig config{spec.name, VIRTIO_ID_BLOCK, blk_device_features(spec), spec.queues,
	                         blk_config_space(spec)};
	return control->create_device(config);
}

void destroy_vduse_device(const std::string &name)
{
	if (auto control = VduseControl::open())
		(void)control->destroy_device_when_released(name);
}

} // namespace

int verb_add(Context &ctx, AddOptions &options)
{
	auto lock = ctx.state.lock();
	if (!lock) {
		print_error(lock.error().message);
		return exit_failure;
	}
	if (!complete_spec(ctx.state, options))
		return exit_usage;
	const DeviceSpec &spec = options.spec;
	const std::string &name = spec.name;
	if (name_taken(ctx.state, name)) {
		print_error("device '" + name + "' already exists");
		return exit_failure;
	}

	Undo undo;
	auto fail = [](const Error &error) {
		print_error(error.message);
		return exit_failure;
	};
	if (auto st = create_vduse_device(spec); !st)
		return fail(st.error());
	undo.push([&] { destroy_vduse_device(name); });

	DeviceRecord record{spec, 0};
	if (auto st = ctx.state.write(record); !st)
		return fail(st.error());
	undo.push([&] { ctx.state.remove(name); });

	auto pid = start_daemon(ctx.state, name, ctx.verbose, 10s);
	if (!pid)
		return fail(pid.error());
	record.pid = *pid;
	undo.push([&] { (void)stop_daemon(record.pid, name, 5s); });
	if (auto st = ctx.state.write(record); !st)
		return fail(st.error());

	auto netlink = VdpaNetlink::connect();
	if (!netlink)
		return fail(netlink.error());
	if (auto st = netlink->add_device(name); !st)
		return fail(st.error());
	undo.push([&] { (void)netlink->del_device(name); });

	if (auto st = vdpa_bind(name, spec.driver); !st)
		return fail(st.error());
	auto node = vdpa_wait_for_node(name, 10s);
	if (!node)
		return fail(node.error());

	undo.dismiss();
	if (ctx.json)
		std::cout << status_to_json(device_status(record)).dump(2) << '\n';
	else
		std::cout << name << ' ' << *node << '\n';
	return exit_ok;
}

} // namespace vduse
