// What a device is asked to be: the record written to the state directory by
// `vdusectl add` and read by vdused, list and show.
#pragma once

#include "base/result.h"
#include "vdpa/driver.h"
#include "virtio/blk_config.h"

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vduse
{

struct DeviceSpec {
	std::string name;
	std::string backend = "null";
	uint64_t size_bytes = 0;
	uint32_t queues = 1;
	uint32_t queue_depth = 128;
	uint32_t block_size = 512;
	bool read_only = false;
	std::string serial;
	Driver driver = Driver::virtio;
	std::string file;                 // backing file or block device (file, loop)
	bool direct = false;              // O_DIRECT (always for loop)
	uint32_t physical_block_size = 0; // 0: same as block_size
	// What the backend can do (a network server may lack some); the
	// driver is offered only these.
	bool flush = true;
	bool discard = true;
	bool write_zeroes = true;
	// nbd: the server's NBD URI (it names key files, never holds a key).
	std::string url;
	bool nbd_multi_conn = false; // the server allows a connection per queue
	// rbd: POOL/IMAGE, and where and as whom to reach the cluster.
	std::string rbd_image;
	std::string rbd_namespace;
	std::string rbd_snap; // a snapshot, mapped read-only
	std::string rbd_user; // cephx id without "client." (default: admin)
	std::string ceph_conf;
	std::string keyring; // a path: the key itself is never recorded
	// vhost-user: the target's unix socket, and the virtio features the
	// bridge uses of those it offered at add.
	std::string socket;
	uint64_t vhost_user_features = 0;
	// vhost-user: who serves the driver's rings. "bridge": vdused checks
	// each request and forwards it through rings of its own; "direct":
	// the target serves the driver's rings itself (a target trusted as
	// much as the kernel; docs/DATA-PATH.md).
	std::string rings = "bridge";
	// vhost-user, and nbd over a unix socket: the user the server must run
	// as (SO_PEERCRED; root is always accepted), recorded at add from the
	// server then or --socket-owner. None: not checked (records from
	// before it, TCP).
	std::optional<uint32_t> socket_owner_uid;
	// Per-request limits of discard and write zeroes when the backend has
	// smaller ones than vdused's (a vhost-user target's config); 0: vdused's.
	uint32_t discard_segments = 0;
	uint32_t discard_sectors = 0;
	uint32_t write_zeroes_segments = 0;
	uint32_t write_zeroes_sectors = 0;
	// Data segments per request (seg_max) and bytes per segment (size_max)
	// when the backend has smaller limits than vdused's (a vhost-user
	// target's config); 0: vdused's.
	uint32_t seg_max = 0;
	uint32_t size_max = 0;
	// nbd, rbd: how long requests wait for a lost connection to come back
	// before they fail; 0 waits for ever.
	uint32_t reconnect_timeout_s = 0;
	// nbd: how long requests on the wire may go without any reply before
	// the connection is taken for dead and made again; 0 waits for ever.
	uint32_t io_timeout_s = 0;
	// The kernel's bounce buffer (virtio driver): its size in bytes (0: the
	// kernel's default, 64 MiB) and who supplies its memory: "default"
	// (the kernel), "hugepage" or "shmem" (vdused, registered with
	// VDUSE_IOTLB_REG_UMEM) or "auto" (huge pages if there are enough,
	// else shmem).
	uint64_t bounce_size = 0;
	std::string bounce_memory = "default";
	// The CPUs queue threads run on, queue i on the i-th (round robin),
	// with the kernel's completion work for the queue on the same CPU:
	// "" spreads them over the CPUs vdused may use, "any" pins nothing,
	// else a CPU list ("0-3,8").
	std::string cpus;
};

// A byte below 0x20 or DEL: refused in URIs and paths that end up in
// records and unit files.
bool has_control_character(const std::string &text);

// Backends that reach their data over the network (nbd, rbd).
bool is_network_backend(const DeviceSpec &spec);
// vhost-user, or nbd over a unix socket: the server's user can be checked.
bool serves_over_unix_socket(const DeviceSpec &spec);
// The nbd backend's io_timeout_s when add is not told (what Linux's nbd
// driver waits too).
inline constexpr uint32_t nbd_default_io_timeout_s = 30;
// Backends whose data lives in another process or host, asked at add and
// not at restore: the network ones and vhost-user. Their size is their
// server's (vdusectl resize asks it).
bool is_remote_backend(const DeviceSpec &spec);
// The bounce size the device gets: the spec's, or the kernel's default.
uint64_t effective_bounce_size(const DeviceSpec &spec);
// What the spec's block size allows of bytes (a server's or target's size):
// rounded down to whole blocks, 0 if less than one.
uint64_t whole_blocks(const DeviceSpec &spec, uint64_t bytes);

// What the device serves, for list and show: the file, the NBD URI,
// rbd:POOL/IMAGE[@SNAP] or the vhost-user socket. Never a secret.
std::string spec_source(const DeviceSpec &spec);

namespace limits
{
inline constexpr size_t name_max = 64;
// vdused runs one thread per queue; Linux's virtio_blk uses at most one per CPU.
inline constexpr uint32_t queues_max = 256;
inline constexpr uint32_t queue_depth_min = 4;
inline constexpr uint32_t queue_depth_max = 32768; // the split ring's limit
inline constexpr size_t serial_max = 20;           // VIRTIO_BLK_ID_BYTES
inline constexpr size_t url_max = 4096;
// libvhost-user's VIRTQUEUE_MAX_SIZE: the largest ring a target takes.
inline constexpr uint32_t vhost_user_depth_max = 1024;
// The kernel's bounds on bounce_size (VDUSE_MIN_BOUNCE_SIZE and
// VDUSE_MAX_BOUNCE_SIZE in drivers/vdpa/vdpa_user/vduse_dev.c).
inline constexpr uint64_t bounce_size_min = uint64_t{1} << 20;
inline constexpr uint64_t bounce_size_max = uint64_t{1} << 30;
inline constexpr uint64_t bounce_size_default = uint64_t{64} << 20;
inline constexpr uint64_t huge_page_size = uint64_t{2} << 20;
} // namespace limits

Status validate_name(std::string_view name);
// validate_name of each, stopping at the first bad one.
Status validate_names(const std::vector<std::string> &names);
// Everything validate_spec checks but the name and the size (which file and
// loop take from the backing file).
Status validate_spec_settings(const DeviceSpec &spec);
// Usage errors: what is wrong with the spec as a command line would give it.
Status validate_spec(const DeviceSpec &spec);

// The virtio-blk device the spec describes (config space, request checks).
BlkGeometry blk_geometry(const DeviceSpec &spec);

nlohmann::json spec_to_json(const DeviceSpec &spec);
Result<DeviceSpec> spec_from_json(const nlohmann::json &json);

} // namespace vduse
