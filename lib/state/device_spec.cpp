#include "state/device_spec.h"

#include "base/json_fields.h"

#include "base/cpu_list.h"
#include "base/size.h"

#include <algorithm>
#include <bit>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

namespace vduse
{

namespace
{

bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == ':';
}

Status check_range(const std::string &name, uint64_t what, uint64_t min, uint64_t max,
                   const char *label)
{
	if (what < min || what > max)
		return usage_error(name + ": " + label + " " + std::to_string(what) +
		                   " is out of range (" + std::to_string(min) + " to " +
		                   std::to_string(max) + ")");
	return {};
}

bool starts_with_any(const std::string &text, std::initializer_list<const char *> prefixes)
{
	return std::any_of(prefixes.begin(), prefixes.end(),
	                   [&](const char *p) { return text.rfind(p, 0) == 0; });
}

Status validate_nbd(const DeviceSpec &spec)
{
	const std::string &n = spec.name;
	if (spec.url.empty())
		return usage_error(n + ": the nbd backend needs --url URI");
	if (spec.url.size() > limits::url_max || has_control_character(spec.url))
		return usage_error(n + ": NBD URI is too long or has a control character");
	// libnbd's URI schemes (nbd_connect_uri(3)).
	if (!starts_with_any(spec.url, {"nbd://", "nbds://", "nbd+unix://", "nbds+unix://",
	                                "nbd+vsock://", "nbds+vsock://"}))
		return usage_error(n + ": '" + spec.url +
		                   "' is not an NBD URI (nbd://HOST[:PORT]/EXPORT, "
		                   "nbd+unix:///EXPORT?socket=PATH, nbds:// for TLS)");
	return {};
}

Status validate_rbd(const DeviceSpec &spec)
{
	const std::string &n = spec.name;
	if (spec.rbd_image.empty())
		return usage_error(n + ": the rbd backend needs --image POOL/IMAGE");
	auto slash = spec.rbd_image.find('/');
	if (slash == std::string::npos || slash == 0 || slash + 1 == spec.rbd_image.size() ||
	    spec.rbd_image.find('/', slash + 1) != std::string::npos ||
	    spec.rbd_image.find('@') != std::string::npos)
		return usage_error(n + ": image '" + spec.rbd_image +
		                   "' is not POOL/IMAGE (a snapshot is --snap SNAP)");
	for (const std::string *text : {&spec.rbd_image, &spec.rbd_namespace, &spec.rbd_snap,
	                                &spec.rbd_user, &spec.ceph_conf, &spec.keyring}) {
		if (text->size() > limits::url_max || has_control_character(*text))
			return usage_error(n + ": '" + *text +
			                   "' is too long or has a control character");
	}
	for (const std::string *path : {&spec.ceph_conf, &spec.keyring}) {
		if (!path->empty() && path->front() != '/')
			return usage_error(n + ": '" + *path + "' is not an absolute path");
	}
	if (!spec.rbd_snap.empty() && !spec.read_only)
		return usage_error(n + ": a snapshot (--snap " + spec.rbd_snap +
		                   ") can only be mapped read-only");
	return {};
}

} // namespace

bool has_control_character(const std::string &text)
{
	return std::any_of(text.begin(), text.end(), [](char c) {
		return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
	});
}

bool is_network_backend(const DeviceSpec &spec)
{
	return spec.backend == "nbd" || spec.backend == "rbd";
}

bool is_remote_backend(const DeviceSpec &spec)
{
	return is_network_backend(spec) || spec.backend == "vhost-user";
}

std::string spec_source(const DeviceSpec &spec)
{
	if (spec.backend == "nbd")
		return spec.url;
	if (spec.backend == "rbd") {
		std::string image = spec.rbd_image;
		if (!spec.rbd_namespace.empty()) {
			auto slash = image.find('/');
			image.insert(slash + 1, spec.rbd_namespace + "/");
		}
		return "rbd:" + image + (spec.rbd_snap.empty() ? "" : "@" + spec.rbd_snap);
	}
	if (spec.backend == "vhost-user")
		return "vhost-user:" + spec.socket;
	return spec.file;
}

Status validate_name(std::string_view name)
{
	std::string quoted = "device name '" + std::string(name) + "'";
	if (name.empty())
		return usage_error("device name is empty");
	if (name.size() > limits::name_max)
		return usage_error(quoted + " is too long (" + std::to_string(name.size()) +
		                   " characters, at most " + std::to_string(limits::name_max) +
		                   ")");
	if (name == "." || name == "..")
		return usage_error(quoted + " is not allowed");
	// /dev/vduse/control is the VDUSE control node (drivers/vdpa/vdpa_user/vduse_dev.c).
	if (name == "control")
		return usage_error(quoted + " is reserved: /dev/vduse/control is the VDUSE control "
		                            "device");
	if (name.front() == '-')
		return usage_error(quoted + " starts with '-' (it would read as an option)");
	if (!std::all_of(name.begin(), name.end(), is_name_char))
		return usage_error(quoted +
		                   " may contain only letters, digits, '-', '_', '.' and ':'");
	return {};
}

Status validate_names(const std::vector<std::string> &names)
{
	for (const std::string &name : names) {
		if (auto st = validate_name(name); !st)
			return st;
	}
	return {};
}

uint64_t effective_bounce_size(const DeviceSpec &spec)
{
	return spec.bounce_size ? spec.bounce_size : limits::bounce_size_default;
}

uint64_t whole_blocks(const DeviceSpec &spec, uint64_t bytes)
{
	return bytes - bytes % spec.block_size;
}

namespace
{

Status validate_bounce(const DeviceSpec &spec)
{
	const std::string &n = spec.name;
	const std::string &memory = spec.bounce_memory;
	if (memory != "default" && memory != "hugepage" && memory != "shmem" && memory != "auto")
		return usage_error(n + ": bounce memory '" + memory +
		                   "' is not default, hugepage, shmem or auto");
	bool custom = spec.bounce_size != 0 || memory != "default";
	// Under vhost_vdpa the driver's memory is the VMM's: no bounce buffer.
	if (custom && spec.driver != Driver::virtio)
		return usage_error(n + ": --bounce-size and --bounce-memory are for the virtio "
		                       "driver (a VM's I/O is not bounced)");
	if (spec.bounce_size != 0 &&
	    (spec.bounce_size < limits::bounce_size_min ||
	     spec.bounce_size > limits::bounce_size_max || spec.bounce_size % 4096 != 0))
		return usage_error(n + ": bounce size " + std::to_string(spec.bounce_size) +
		                   " is not a multiple of 4 KiB from 1 MiB to 1 GiB");
	if ((memory == "hugepage" || memory == "auto") &&
	    effective_bounce_size(spec) % limits::huge_page_size != 0)
		return usage_error(n + ": bounce size " + std::to_string(spec.bounce_size) +
		                   " is not a multiple of the 2 MiB huge page size");
	return {};
}

} // namespace

Status validate_spec_settings(const DeviceSpec &spec)
{
	const std::string &n = spec.name;
	bool local_file = spec.backend == "file" || spec.backend == "loop";
	bool vhost_user = spec.backend == "vhost-user";
	if (spec.backend != "null" && !local_file && !is_network_backend(spec) && !vhost_user)
		return usage_error(n + ": unknown backend '" + spec.backend +
		                   "' (available: null, file, loop, nbd, rbd, vhost-user)");
	if (!vhost_user && !spec.socket.empty())
		return usage_error(n + ": --socket is for the vhost-user backend");
	if (vhost_user) {
		if (spec.socket.empty())
			return usage_error(n + ": the vhost-user backend needs --socket PATH");
		if (spec.socket.front() != '/')
			return usage_error(n + ": vhost-user socket '" + spec.socket +
			                   "' is not an absolute path");
		if (has_control_character(spec.socket) || spec.socket.size() >= 108)
			return usage_error(n + ": vhost-user socket path '" + spec.socket +
			                   "' has a control character or is longer than a unix "
			                   "socket path may be");
		if (spec.queue_depth > limits::vhost_user_depth_max)
			return usage_error(n + ": queue depth " + std::to_string(spec.queue_depth) +
			                   " is more than a vhost-user target takes (" +
			                   std::to_string(limits::vhost_user_depth_max) + ")");
	}
	if (!local_file && !spec.file.empty())
		return usage_error(n + ": the " + spec.backend + " backend takes no --file");
	if (local_file && spec.file.empty())
		return usage_error(n + ": the " + spec.backend + " backend needs --file PATH");
	if (local_file && spec.file.front() != '/')
		return usage_error(n + ": backing file '" + spec.file +
		                   "' is not an absolute path");
	if (spec.backend != "nbd" && !spec.url.empty())
		return usage_error(n + ": --url is for the nbd backend");
	bool rbd_options = !spec.rbd_image.empty() || !spec.rbd_namespace.empty() ||
	                   !spec.rbd_snap.empty() || !spec.rbd_user.empty() ||
	                   !spec.ceph_conf.empty() || !spec.keyring.empty();
	if (spec.backend != "rbd" && rbd_options)
		return usage_error(n + ": --image, --namespace, --snap, --id, --ceph-conf and "
		                       "--keyring are for the rbd backend");
	if (!is_network_backend(spec) && spec.reconnect_timeout_s != 0)
		return usage_error(n + ": --reconnect-timeout is for the nbd and rbd backends");
	if (spec.backend != "nbd" && spec.io_timeout_s != 0)
		return usage_error(n + ": --io-timeout is for the nbd backend");
	if (spec.rings != "bridge" && spec.rings != "direct")
		return usage_error(n + ": --rings must be bridge or direct, not '" + spec.rings +
		                   "'");
	if (spec.rings == "direct" && spec.backend != "vhost-user")
		return usage_error(n + ": --rings is for the vhost-user backend");
	if (spec.rings == "direct" && spec.driver != Driver::virtio)
		return usage_error(n + ": --rings direct serves the virtio driver (a block device "
		                       "on this host) only");
	if (spec.rings == "direct" && spec.bounce_memory != "default")
		return usage_error(n + ": --rings direct hands the target the kernel's bounce "
		                       "pages; --bounce-memory is for the bridge");
	if (spec.socket_owner_uid && !serves_over_unix_socket(spec))
		return usage_error(n +
		                   ": --socket-owner is for the vhost-user backend and nbd over "
		                   "a unix socket (nbd+unix://)");
	if (spec.backend == "nbd") {
		if (auto st = validate_nbd(spec); !st)
			return st;
	}
	if (spec.backend == "rbd") {
		if (auto st = validate_rbd(spec); !st)
			return st;
	}
	if (spec.physical_block_size != 0 && (spec.physical_block_size < spec.block_size ||
	                                      !std::has_single_bit(spec.physical_block_size)))
		return usage_error(n + ": physical block size " +
		                   std::to_string(spec.physical_block_size) +
		                   " is not a power of two of at least the block size");
	if (spec.block_size != 512 && spec.block_size != 4096)
		return usage_error(n + ": block size " + std::to_string(spec.block_size) +
		                   " is not 512 or 4096");
	if (auto st = check_range(n, spec.queues, 1, limits::queues_max, "queue count"); !st)
		return st;
	if (auto st = check_range(n, spec.queue_depth, limits::queue_depth_min,
	                          limits::queue_depth_max, "queue depth");
	    !st)
		return st;
	if (!std::has_single_bit(spec.queue_depth))
		return usage_error(n + ": queue depth " + std::to_string(spec.queue_depth) +
		                   " is not a power of two");
	if (auto st = validate_bounce(spec); !st)
		return st;
	if (!spec.cpus.empty() && spec.cpus != "any") {
		if (auto cpus = parse_cpu_list(spec.cpus); !cpus)
			return with_context(n, cpus.error());
	}
	if (spec.serial.size() > limits::serial_max)
		return usage_error(n + ": serial '" + spec.serial + "' is longer than " +
		                   std::to_string(limits::serial_max) + " bytes");
	if (!std::all_of(spec.serial.begin(), spec.serial.end(),
	                 [](char c) { return c > ' ' && c < 127; }))
		return usage_error(n + ": serial '" + spec.serial +
		                   "' must be printable ASCII without spaces");
	return {};
}

Status validate_spec(const DeviceSpec &spec)
{
	if (auto st = validate_name(spec.name); !st)
		return st;
	if (auto st = validate_spec_settings(spec); !st)
		return st;
	const std::string &n = spec.name;
	if (spec.size_bytes == 0)
		return usage_error(n + ": size must not be 0");
	if (spec.size_bytes % spec.block_size != 0)
		return usage_error(n + ": size " + std::to_string(spec.size_bytes) +
		                   " is not a multiple of the block size " +
		                   std::to_string(spec.block_size));
	return {};
}

BlkGeometry blk_geometry(const DeviceSpec &spec)
{
	BlkGeometry g;
	g.capacity_sectors = spec.size_bytes / 512;
	g.block_size = spec.block_size;
	g.read_only = spec.read_only;
	g.serial = spec.serial;
	g.physical_block_size = spec.physical_block_size;
	g.queues = spec.queues;
	g.flush = spec.flush;
	g.discard = spec.discard;
	g.write_zeroes = spec.write_zeroes;
	g.discard_segments = spec.discard_segments;
	g.discard_sectors = spec.discard_sectors;
	g.write_zeroes_segments = spec.write_zeroes_segments;
	g.write_zeroes_sectors = spec.write_zeroes_sectors;
	g.seg_max = spec.seg_max;
	g.size_max = spec.size_max;
	return g;
}

bool serves_over_unix_socket(const DeviceSpec &spec)
{
	return spec.backend == "vhost-user" ||
	       (spec.backend == "nbd" &&
	        starts_with_any(spec.url, {"nbd+unix://", "nbds+unix://"}));
}

nlohmann::json spec_to_json(const DeviceSpec &spec)
{
	nlohmann::json json{
	        {"name", spec.name},
	        {"backend", spec.backend},
	        {"size_bytes", spec.size_bytes},
	        {"queues", spec.queues},
	        {"queue_depth", spec.queue_depth},
	        {"block_size", spec.block_size},
	        {"read_only", spec.read_only},
	        {"serial", spec.serial},
	        {"file", spec.file},
	        {"direct", spec.direct},
	        {"physical_block_size", spec.physical_block_size},
	        {"driver", driver_kernel_name(spec.driver)},
	        {"flush", spec.flush},
	        {"discard", spec.discard},
	        {"write_zeroes", spec.write_zeroes},
	        {"url", spec.url},
	        {"nbd_multi_conn", spec.nbd_multi_conn},
	        {"rbd_image", spec.rbd_image},
	        {"rbd_namespace", spec.rbd_namespace},
	        {"rbd_snap", spec.rbd_snap},
	        {"rbd_user", spec.rbd_user},
	        {"ceph_conf", spec.ceph_conf},
	        {"keyring", spec.keyring},
	        {"reconnect_timeout_s", spec.reconnect_timeout_s},
	        {"io_timeout_s", spec.io_timeout_s},
	        {"socket", spec.socket},
	        {"vhost_user_features", spec.vhost_user_features},
	        {"rings", spec.rings},
	        {"discard_segments", spec.discard_segments},
	        {"discard_sectors", spec.discard_sectors},
	        {"write_zeroes_segments", spec.write_zeroes_segments},
	        {"write_zeroes_sectors", spec.write_zeroes_sectors},
	        {"seg_max", spec.seg_max},
	        {"size_max", spec.size_max},
	        {"bounce_size", spec.bounce_size},
	        {"bounce_memory", spec.bounce_memory},
	        {"cpus", spec.cpus},
	};
	if (spec.socket_owner_uid)
		json["socket_owner_uid"] = *spec.socket_owner_uid;
	return json;
}

Result<DeviceSpec> spec_from_json(const nlohmann::json &json)
{
	DeviceSpec spec;
	try {
		JsonFields f(json, "a device spec");
		spec.name = f.text("name");
		spec.backend = f.text("backend");
		spec.size_bytes = f.whole<uint64_t>("size_bytes");
		spec.queues = f.whole<uint32_t>("queues");
		spec.queue_depth = f.whole<uint32_t>("queue_depth");
		spec.block_size = f.whole<uint32_t>("block_size");
		spec.read_only = f.flag("read_only");
		spec.serial = f.text("serial", "");
		spec.file = f.text("file", "");
		spec.direct = f.flag("direct", false);
		spec.physical_block_size = f.whole<uint32_t>("physical_block_size", 0u);
		// Records written before the network backends lack these.
		spec.flush = f.flag("flush", true);
		spec.discard = f.flag("discard", true);
		spec.write_zeroes = f.flag("write_zeroes", true);
		spec.url = f.text("url", "");
		spec.nbd_multi_conn = f.flag("nbd_multi_conn", false);
		spec.rbd_image = f.text("rbd_image", "");
		spec.rbd_namespace = f.text("rbd_namespace", "");
		spec.rbd_snap = f.text("rbd_snap", "");
		spec.rbd_user = f.text("rbd_user", "");
		spec.ceph_conf = f.text("ceph_conf", "");
		spec.keyring = f.text("keyring", "");
		spec.reconnect_timeout_s = f.whole<uint32_t>("reconnect_timeout_s", 0u);
		// Records written before it get the default.
		if (f.has("socket_owner_uid"))
			spec.socket_owner_uid = f.whole<uint32_t>("socket_owner_uid");
		spec.io_timeout_s = f.whole<uint32_t>(
		        "io_timeout_s", spec.backend == "nbd" ? nbd_default_io_timeout_s : 0u);
		spec.socket = f.text("socket", "");
		spec.vhost_user_features = f.whole<uint64_t>("vhost_user_features", 0u);
		spec.rings = f.text("rings", "bridge");
		spec.discard_segments = f.whole<uint32_t>("discard_segments", 0u);
		spec.discard_sectors = f.whole<uint32_t>("discard_sectors", 0u);
		spec.write_zeroes_segments = f.whole<uint32_t>("write_zeroes_segments", 0u);
		spec.write_zeroes_sectors = f.whole<uint32_t>("write_zeroes_sectors", 0u);
		spec.seg_max = f.whole<uint32_t>("seg_max", 0u);
		spec.size_max = f.whole<uint32_t>("size_max", 0u);
		spec.bounce_size = f.whole<uint64_t>("bounce_size", 0u);
		spec.bounce_memory = f.text("bounce_memory", "default");
		spec.cpus = f.text("cpus", "");
		auto driver = parse_driver(f.text("driver"));
		if (!driver)
			return failure(driver.error().message);
		spec.driver = *driver;
		if (auto st = f.no_other_keys(); !st)
			return failure("malformed device spec: " + st.error().message);
	} catch (const std::invalid_argument &e) {
		return failure(std::string("malformed device spec: ") + e.what());
	}
	// A spec read from a file that a person or a bug broke: not a usage error.
	if (auto st = validate_spec(spec); !st)
		return failure(st.error().message);
	return spec;
}

} // namespace vduse
