// vdusectl add: create the VDUSE device, start its vdused, attach it to the
// vdpa bus, bind the requested driver and wait for the node.
#include "add_device.h"

#include "base/socket_peer.h"
#include "verb.h"

#include "backing_plan.h"
#include "base/cpu_list.h"
#include "base/size.h"
#include "config.h"
#include "device_report.h"
#include "remote_plan.h"
#include "state/backing_file.h"
#include "undo.h"
#include "vdpa/vdpa_netlink.h"
#include "vdpa/vdpa_sysfs.h"
#include "vduse/bounce_memory.h"
#include "vduse/vduse_control.h"
#include "worker.h"

#include <algorithm>
#include <iostream>
#include <linux/virtio_ids.h>
#include <memory>

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

// A timeout as typed: whole seconds (1 to a year) or "forever" (0).
Result<uint32_t> parse_timeout(const std::string &label, const std::string &option,
                               const std::string &text)
{
	constexpr unsigned long max_seconds = 365UL * 86400; // a year
	if (text == "forever")
		return 0u;
	try {
		size_t used = 0;
		unsigned long v = std::stoul(text, &used);
		if (used == text.size() && v > 0 && v <= max_seconds && text.front() != '-')
			return static_cast<uint32_t>(v);
	} catch (const std::exception &) {
	}
	return usage_error(label + ": " + option + " '" + text +
	                   "' is not a number of seconds (1 to 31536000) or 'forever'");
}

// What the command line alone decides: every error here is a usage error,
// found before the state directory is locked or any device is looked at.
// Sets size to the parsed --size (0 if not given).
Status check_arguments(AddOptions &options, uint64_t &size)
{
	DeviceSpec &spec = options.spec;
	// Messages name the device; without --name it has none yet.
	std::string label = spec.name.empty() ? "add" : spec.name;
	if (!spec.name.empty()) {
		if (auto st = validate_name(spec.name); !st)
			return st;
	}
	size = 0;
	if (!options.size.empty()) {
		auto parsed = parse_size(options.size);
		if (!parsed)
			return with_context(label, parsed.error());
		size = *parsed;
		if (size == 0)
			return usage_error(label + ": size must not be 0");
	}
	auto driver = parse_driver(options.driver);
	if (!driver)
		return with_context(label, driver.error());
	spec.driver = *driver;
	if (spec.backend == "loop")
		spec.direct = true;
	bool local = spec.backend == "null" || spec.backend == "file" || spec.backend == "loop";
	if (!options.reconnect_timeout.empty() && local)
		return usage_error(label + ": --reconnect-timeout is for the nbd and rbd backends");
	if (!options.reconnect_timeout.empty()) {
		auto seconds =
		        parse_timeout(label, "--reconnect-timeout", options.reconnect_timeout);
		if (!seconds)
			return seconds.error();
		spec.reconnect_timeout_s = *seconds;
	}
	if (!options.socket_owner.empty()) {
		auto uid = parse_user(options.socket_owner);
		if (!uid)
			return with_context(label, uid.error());
		spec.socket_owner_uid = *uid;
	}
	if (!options.io_timeout.empty() && spec.backend != "nbd")
		return usage_error(label + ": --io-timeout is for the nbd backend");
	if (!options.io_timeout.empty()) {
		auto seconds = parse_timeout(label, "--io-timeout", options.io_timeout);
		if (!seconds)
			return seconds.error();
		spec.io_timeout_s = *seconds;
	} else if (spec.backend == "nbd" && !options.restoring) {
		spec.io_timeout_s = nbd_default_io_timeout_s;
	}
	if (!options.bounce_size.empty()) {
		auto parsed = parse_size(options.bounce_size);
		if (!parsed)
			return with_context(label, parsed.error());
		if (*parsed == 0)
			return usage_error(label + ": bounce size must not be 0");
		spec.bounce_size = *parsed;
	}
	DeviceSpec labelled = spec;
	labelled.name = label;
	if (spec.backend == "null") {
		if (options.size.empty())
			return usage_error(label + ": the null backend needs --size");
		labelled.size_bytes = size;
		return validate_spec(labelled);
	}
	// A snapshot is read-only by nature.
	if (!spec.rbd_snap.empty())
		labelled.read_only = spec.read_only = true;
	// file and loop: the path is made absolute, and the size checked, later.
	if (!labelled.file.empty())
		labelled.file = "/";
	return validate_spec_settings(labelled);
}

Status create_vduse_device(const DeviceSpec &spec)
{
	auto control = VduseControl::open();
	if (!control)
		return control.error();
	BlkGeometry geometry = blk_geometry(spec);
	VduseDeviceConfig config{spec.name, VIRTIO_ID_BLOCK, blk_device_features(geometry),
	                         spec.queues, blk_config_space(geometry)};
	if (auto st = control->create_device(config); !st)
		return st;
	// Only before the first attach: the kernel makes the bounce domain then.
	if (spec.bounce_size != 0) {
		if (auto st = set_bounce_size(spec.name, spec.bounce_size); !st) {
			(void)control->destroy_device(spec.name);
			return st;
		}
	}
	return {};
}

// --cpus: a CPU that is not online cannot take a thread.
Status check_cpus_online(const DeviceSpec &spec)
{
	if (spec.cpus.empty() || spec.cpus == "any")
		return {};
	auto cpus = parse_cpu_list(spec.cpus);
	if (!cpus)
		return with_context(spec.name, cpus.error());
	std::vector<unsigned> online = online_cpus();
	for (unsigned cpu : *cpus) {
		if (!std::binary_search(online.begin(), online.end(), cpu))
			return failure(spec.name + ": CPU " + std::to_string(cpu) +
			               " of --cpus is not online");
	}
	return {};
}

// --bounce-memory hugepage: vdused maps its bounce memory from 2 MiB huge
// pages, which must be reserved beforehand (they cannot be swapped or
// moved, so the kernel hands out only what the admin set aside).
Status check_huge_pages(const DeviceSpec &spec)
{
	if (spec.bounce_memory != "hugepage")
		return {};
	uint64_t needed = effective_bounce_size(spec) / limits::huge_page_size;
	uint64_t free = free_huge_pages();
	if (free >= needed)
		return {};
	return failure(spec.name + ": --bounce-memory hugepage needs " + std::to_string(needed) +
	               " free 2 MiB huge pages and " + std::to_string(free) +
	               " are free; reserve them with 'sysctl vm.nr_hugepages=N' (or "
	               "hugepages=N on the kernel command line)");
}

// add --spec FILE: the device is the file's; only the name may change.
Status take_spec_file(const CLI::App &cmd, const std::string &path, AddOptions &options)
{
	for (const CLI::Option *option : cmd.get_options()) {
		const std::string &long_name = option->get_lnames().empty()
		                                       ? option->get_name()
		                                       : option->get_lnames().front();
		if (option->count() > 0 && long_name != "spec" && long_name != "name" &&
		    long_name != "persistent" && long_name != "json")
			return usage_error(
			        "add: --" + long_name +
			        " cannot be given with --spec (the file holds the device's "
			        "settings)");
	}
	auto spec = read_spec_file(path);
	if (!spec)
		return spec.error();
	std::string name = options.spec.name;
	options.spec = *spec;
	if (!name.empty())
		options.spec.name = name;
	options.size = std::to_string(spec->size_bytes);
	options.driver = std::string(driver_option_name(spec->driver));
	options.block_size_given = true;
	return {};
}

} // namespace

int add_device(Context &ctx, AddOptions &options, JsonMode json)
{
	uint64_t size = 0;
	if (auto st = check_arguments(options, size); !st)
		return report(st.error());

	auto lock = lock_state(ctx);
	if (!lock)
		return report(lock.error());
	DeviceSpec &spec = options.spec;
	if (spec.name.empty())
		spec.name = first_free_name(ctx.state);
	else if (name_taken(ctx.state, spec.name))
		return report(failure("device '" + spec.name + "' already exists"));
	const std::string &name = spec.name;
	// A serial by default, so that /dev/disk/by-id/virtio-NAME is stable.
	if (spec.serial.empty())
		spec.serial = name.substr(0, limits::serial_max);
	BackingPlan plan;
	if (spec.backend == "null") {
		spec.size_bytes = size;
	} else if (is_remote_backend(spec) && options.restoring) {
		// At boot the server may not be up yet: the recorded spec says
		// what the device is, and vdused holds requests until it connects.
		spec.size_bytes = spec.size_bytes ? spec.size_bytes : size;
	} else if (is_remote_backend(spec)) {
		if (auto st = plan_remote(options, size); !st)
			return report(st.error());
	} else {
		auto planned = plan_backing(ctx.state, options, size);
		if (!planned)
			return report(planned.error());
		plan = *planned;
	}
	if (auto st = validate_spec(spec); !st)
		return report(st.error());
	if (auto st = check_huge_pages(spec); !st)
		return report(st.error());
	if (auto st = check_cpus_online(spec); !st)
		return report(st.error());

	Undo undo;
	if (auto st = apply_backing(spec, plan); !st)
		return report(st.error());
	undo.push([&] { revert_backing(spec, plan); });
	// A device that offers write zeroes and answers UNSUPP fails every
	// one the kernel sends, with an error on the console each time
	// (block/blk-mq.c, blk_print_req_error); without the feature the kernel
	// writes the zeros itself.
	if ((spec.backend == "file" || spec.backend == "loop") && !spec.read_only &&
	    spec.write_zeroes && !zeroes_in_place(spec.file)) {
		spec.write_zeroes = false;
		print_error(name + ": the file system of " + spec.file +
		            " cannot zero a range in place (fallocate): the device does not offer "
		            "write zeroes, and the kernel writes zeros instead");
	}
	if (auto st = create_vduse_device(spec); !st)
		return report(st.error());
	undo.push([&] { (void)destroy_vduse_device(name); });

	DeviceRecord record;
	record.spec = spec;
	if (auto st = ctx.state.write(record); !st)
		return report(st.error());
	undo.push([&] { ctx.state.remove(name); });

	// A new device: no in-flight log of an earlier one with this name.
	ctx.state.remove_inflight(name);
	if (auto st = start_worker(ctx, record, 30s); !st) {
		forget_worker(record);
		return report(st.error());
	}
	undo.push([&] {
		(void)stop_worker(ctx, record, 10s);
		forget_worker(record);
	});
	record.persistent = options.persistent || options.restoring;
	if (options.persistent && !options.restoring) {
		if (auto st = ctx.persist.write(spec); !st)
			return report(st.error());
		undo.push([&] { ctx.persist.remove(name); });
	}
	if (auto st = ctx.state.write(record); !st)
		return report(st.error());

	auto netlink = VdpaNetlink::connect();
	if (!netlink)
		return report(netlink.error());
	if (auto st = netlink->add_device(name); !st)
		return report(st.error());
	undo.push([&] { (void)netlink->del_device(name); });

	if (auto st = vdpa_bind(name, spec.driver); !st)
		return report(st.error());
	auto node = vdpa_wait_for_node(name, 10s);
	if (!node)
		return report(node.error());

	undo.dismiss();
	if (json != JsonMode::off)
		std::cout << format_json(device_record(device_report(record, ctx.state)).to_json(),
		                         json);
	else
		std::cout << name << ' ' << *node << '\n';
	return exit_ok;
}

Verb add_verb()
{
	return {"add", "Create a block device served by a new vdused", [](CLI::App &cmd) {
		        struct Args {
			        AddOptions add;
			        std::string json;
			        std::string spec_file;
		        };
		        auto args = std::make_shared<Args>();
		        AddOptions &add = args->add;
		        auto *type =
		                cmd.add_option("-t,--type", add.spec.backend,
		                               "Backend: null, file, loop, nbd, rbd or vhost-user "
		                               "(required unless --spec is given)")
		                        ->type_name("null|file|loop|nbd|rbd|vhost-user");
		        cmd.add_option("--spec", args->spec_file,
		                       "Take the device from a vduse-spec(5) file (with --name, "
		                       "--persistent and --json only)")
		                ->type_name("FILE");
		        cmd.add_option("-s,--size", add.size,
		                       "Size: bytes, or with a binary unit (512M, 1.5G, 1GiB) "
		                       "(file, loop, nbd, "
		                       "rbd, vhost-user: default the file's, export's, image's or "
		                       "target's size)");
		        cmd.add_option(
		                   "-f,--file", add.spec.file,
		                   "Image file (file: created sparse if absent) or block device "
		                   "(loop)")
		                ->type_name("FILE");
		        cmd.add_flag("--direct", add.spec.direct,
		                     "file: bypass the page cache (O_DIRECT)");
		        cmd.add_flag("--grow", add.grow, "file: let --size grow an existing image");
		        cmd.add_option("--url", add.spec.url,
		                       "nbd: the server's NBD URI (nbd://HOST[:PORT]/EXPORT, "
		                       "nbd+unix:///EXPORT?socket=PATH, nbds:// for TLS)");
		        cmd.add_option("--socket", add.spec.socket,
		                       "vhost-user: the vhost-user-blk target's unix socket")
		                ->type_name("FILE");
		        cmd.add_option("--rings", add.spec.rings,
		                       "vhost-user: bridge (vdused checks and forwards each "
		                       "request, default) or direct (the target serves the "
		                       "driver's rings itself: trusted as much as the kernel)")
		                ->type_name("bridge|direct");
		        cmd.add_option("--image", add.spec.rbd_image, "rbd: the image, POOL/IMAGE");
		        cmd.add_option("--namespace", add.spec.rbd_namespace,
		                       "rbd: the image's namespace in its pool");
		        cmd.add_option("--snap", add.spec.rbd_snap,
		                       "rbd: map this snapshot of the image (read-only)");
		        cmd.add_option("--id", add.spec.rbd_user,
		                       "rbd: the Ceph user, without 'client.' (default: admin)");
		        cmd.add_option("--ceph-conf", add.spec.ceph_conf,
		                       "rbd: the cluster's configuration file (default: "
		                       "$CEPH_CONF, then /etc/ceph/ceph.conf)")
		                ->type_name("FILE");
		        cmd.add_option("--keyring", add.spec.keyring,
		                       "rbd: the keyring file holding the user's key")
		                ->type_name("FILE");
		        cmd.add_option("--reconnect-timeout", add.reconnect_timeout,
		                       "nbd, rbd: seconds requests wait for a lost connection "
		                       "before they fail (default: forever)")
		                ->type_name("SECONDS|forever");
		        cmd.add_option("--socket-owner", add.socket_owner,
		                       "vhost-user, nbd+unix: the user the server must run as "
		                       "(default: the one serving the socket now)")
		                ->type_name("USER");
		        cmd.add_option("--io-timeout", add.io_timeout,
		                       "nbd: seconds requests on the wire may go without a reply "
		                       "before the connection is made again (default: 30)")
		                ->type_name("SECONDS|forever");
		        cmd.add_option("-n,--name", add.spec.name,
		                       "Device name (default: the first free vduseN)");
		        cmd.add_option("-q,--queues", add.spec.queues,
		                       "Number of virtqueues (default: 1)");
		        cmd.add_option("-d,--queue-depth", add.spec.queue_depth,
		                       "Descriptors per queue, a power of two (default: 128)");
		        auto *block_size =
		                cmd.add_option("-b,--block-size", add.spec.block_size,
		                               "Logical block size: 512 or 4096 (default: 512)")
		                        ->type_name("512|4096");
		        cmd.add_flag("-r,--read-only", add.spec.read_only,
		                     "Offer a read-only device");
		        cmd.add_option("--serial", add.spec.serial,
		                       "Serial number reported to the driver (up to 20 bytes; "
		                       "default: the "
		                       "name's first 20)");
		        cmd.add_option("--driver", add.driver,
		                       "Bind to virtio (host /dev/vdX, default) or vhost "
		                       "(/dev/vhost-vdpa-N)")
		                ->type_name("virtio|vhost");
		        cmd.add_option("--bounce-size", add.bounce_size,
		                       "virtio: the kernel's bounce buffer, 1M to 1G (default: "
		                       "64M); all requests in flight share it");
		        cmd.add_option("--bounce-memory", add.spec.bounce_memory,
		                       "virtio: who supplies the bounce buffer: default (the "
		                       "kernel), hugepage, shmem (vdused) or auto (huge pages if "
		                       "reserved, else shmem)")
		                ->type_name("default|hugepage|shmem|auto");
		        cmd.add_option(
		                   "--cpus", add.spec.cpus,
		                   "CPUs for the queue threads and their completions, queue i on "
		                   "the i-th: a list like 0-3,8, or any (no pinning; default: "
		                   "all the CPUs vdused may use)")
		                ->type_name("LIST|any");
		        cmd.add_flag("-p,--persistent", add.persistent,
		                     "Also record the device under " VDUSE_PERSIST_DIR
		                     " so that it comes back at boot");
		        add_json_option(cmd, args->json, "Print the device as show --json does");
		        return VerbHandler([args, block_size, type, &cmd](Context &ctx) {
			        auto mode = json_mode(args->json);
			        if (!mode)
				        return report(mode.error());
			        if (!args->spec_file.empty()) {
				        if (auto st =
				                    take_spec_file(cmd, args->spec_file, args->add);
				            !st)
					        return report(st.error());
			        } else if (type->count() == 0) {
				        return report(usage_error(
				                "add: --type is required (or --spec FILE)"));
			        } else {
				        args->add.block_size_given = block_size->count() > 0;
			        }
			        return add_device(ctx, args->add, *mode);
		        });
	        }};
}

} // namespace vduse
