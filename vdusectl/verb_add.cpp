// vdusectl add: create the VDUSE device, start its vdused, attach it to the
// vdpa bus, bind the requested driver and wait for the node.
#include "verbs.h"

#include "backing_plan.h"
#include "virtio/blk_config.h"
#include "device_status.h"
#include "base/size.h"
#include "undo.h"
#include "vdpa/vdpa_netlink.h"
#include "vdpa/vdpa_sysfs.h"
#include "vduse/vduse_control.h"
#include "worker.h"

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

// Checks the options and completes the spec (from the backing file for file
// and loop); prints why not and returns the exit status otherwise.
int complete_spec(const StateDir &state, AddOptions &options, BackingPlan &plan)
{
	DeviceSpec &spec = options.spec;
	if (spec.name.empty())
		spec.name = first_free_name(state);
	uint64_t size = 0;
	if (!options.size.empty()) {
		auto parsed = parse_size(options.size);
		if (!parsed) {
			print_error(spec.name + ": " + parsed.error().message);
			return exit_usage;
		}
		size = *parsed;
		if (size == 0) {
			print_error(spec.name + ": size must not be 0");
			return exit_usage;
		}
	}
	auto driver = parse_driver(options.driver);
	if (!driver) {
		print_error(spec.name + ": " + driver.error().message);
		return exit_usage;
	}
	spec.driver = *driver;
	if (spec.backend == "loop")
		spec.direct = true;
	if (auto st = validate_name(spec.name); !st) {
		print_error(st.error().message);
		return exit_usage;
	}
	if (spec.backend == "null") {
		if (options.size.empty()) {
			print_error(spec.name + ": the null backend needs --size");
			return exit_usage;
		}
		spec.size_bytes = size;
	} else if (spec.backend == "file" || spec.backend == "loop") {
		auto planned = plan_backing(state, options, size);
		if (!planned) {
			print_error(planned.error().message);
			return planned.error().code == EINVAL ? exit_usage : exit_failure;
		}
		plan = *planned;
	}
	if (auto st = validate_spec(spec); !st) {
		print_error(st.error().message);
		return exit_usage;
	}
	return exit_ok;
}

Status create_vduse_device(const DeviceSpec &spec)
{
	auto control = VduseControl::open();
	if (!control)
		return control.error();
	BlkGeometry geometry = blk_geometry(spec);
	VduseDeviceConfig config{spec.name, VIRTIO_ID_BLOCK, blk_device_features(geometry),
	                         spec.queues, blk_config_space(geometry)};
	return control->create_device(config);
}

} // namespace

int verb_add(Context &ctx, AddOptions &options)
{
	auto lock = ctx.state.lock();
	if (!lock) {
		print_error(lock.error().message);
		return exit_failure;
	}
	if (!options.spec.name.empty() && name_taken(ctx.state, options.spec.name)) {
		print_error("device '" + options.spec.name + "' already exists");
		return exit_failure;
	}
	BackingPlan plan;
	if (int rc = complete_spec(ctx.state, options, plan); rc != exit_ok)
		return rc;
	const DeviceSpec &spec = options.spec;
	const std::string &name = spec.name;

	Undo undo;
	auto fail = [](const Error &error) {
		print_error(error.message);
		return exit_failure;
	};
	if (auto st = apply_backing(spec, plan); !st)
		return fail(st.error());
	undo.push([&] { revert_backing(spec, plan); });
	if (auto st = create_vduse_device(spec); !st)
		return fail(st.error());
	undo.push([&] { (void)destroy_vduse_device(name); });

	DeviceRecord record;
	record.spec = spec;
	if (auto st = ctx.state.write(record); !st)
		return fail(st.error());
	undo.push([&] { ctx.state.remove(name); });

	// A new device: no in-flight log of an earlier one with this name.
	ctx.state.remove_inflight(name);
	if (auto st = start_worker(ctx, record, 30s); !st) {
		forget_worker(record);
		return fail(st.error());
	}
	undo.push([&] {
		(void)stop_worker(ctx, record, 10s);
		forget_worker(record);
	});
	record.persistent = options.persistent || options.restoring;
	if (options.persistent && !options.restoring) {
		if (auto st = ctx.persist.write(spec); !st)
			return fail(st.error());
		undo.push([&] { ctx.persist.remove(name); });
	}
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
