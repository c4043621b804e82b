#include "remote_plan.h"

#include "base/socket_peer.h"
#include "remote/nbd_client.h"
#include "remote/rbd_client.h"
#include "remote/vhost_user_client.h"

#include <bit>

namespace vduse
{

namespace
{

using namespace std::chrono_literals;

// The device's size: --size if given (at most the remote size), else the
// remote size rounded down to whole blocks.
Status choose_size(DeviceSpec &spec, uint64_t given, uint64_t remote, const std::string &what)
{
	if (given > remote)
		return failure(spec.name + ": --size " + std::to_string(given) +
		               " is larger than " + what + " (" + std::to_string(remote) +
		               " bytes)");
	spec.size_bytes = given ? given : whole_blocks(spec, remote);
	if (spec.size_bytes == 0)
		return failure(spec.name + ": " + what + " is smaller than one block (" +
		               std::to_string(remote) + " bytes)");
	return {};
}

Status plan_nbd(AddOptions &options, uint64_t size)
{
	DeviceSpec &spec = options.spec;
	auto h = nbd_connect_with_timeout(spec.url, 10s, spec.socket_owner_uid);
	if (!h)
		return with_context(spec.name, h.error());
	if (!spec.socket_owner_uid && serves_over_unix_socket(spec))
		spec.socket_owner_uid = unix_peer_uid(nbd_aio_get_fd(h->get()));
	NbdExportInfo info = nbd_export_info(h->get());
	if (info.min_block > 4096)
		return failure(spec.name + ": the server's minimum block size " +
		               std::to_string(info.min_block) + " is larger than 4096");
	if (info.min_block > spec.block_size) {
		if (options.block_size_given)
			return usage_error(spec.name + ": block size " +
			                   std::to_string(spec.block_size) +
			                   " is smaller than the server's minimum " +
			                   std::to_string(info.min_block));
		spec.block_size = 4096;
	}
	if (info.preferred_block > spec.block_size && info.preferred_block <= (1u << 20) &&
	    std::has_single_bit(info.preferred_block))
		spec.physical_block_size = info.preferred_block;
	// A server that refuses writes makes a read-only device; features it
	// lacks are not offered to the driver.
	if (info.read_only)
		spec.read_only = true;
	spec.flush = info.flush;
	spec.discard = info.trim;
	spec.write_zeroes = info.zero;
	spec.nbd_multi_conn = info.multi_conn;
	return choose_size(spec, size, info.size, spec.url);
}

Status plan_rbd(AddOptions &options, uint64_t size)
{
	DeviceSpec &spec = options.spec;
	auto image = RbdImage::open(spec, RbdImage::Access::probe);
	if (!image) {
		Error e = image.error();
		if (e.code == ENOENT)
			e.message += " (vdusectl maps images; rbd create makes them)";
		return with_context(spec.name, e);
	}
	auto info = image->info();
	if (!info)
		return with_context(spec.name, info.error());
	return choose_size(spec, size, info->size, spec_source(spec));
}

Status plan_vhost_user(AddOptions &options, uint64_t size)
{
	DeviceSpec &spec = options.spec;
	auto client = VhostUserClient::connect(spec.socket, 5s, spec.socket_owner_uid);
	if (!client)
		return with_context(spec.name, client.error());
	if (!spec.socket_owner_uid)
		spec.socket_owner_uid = unix_peer_uid(client->fd());
	const VhostUserTarget &target = client->target();
	const virtio_blk_config &config = target.config;
	std::string what = "the vhost-user target at " + spec.socket;
	// The daemon's own bounce memory (virtio driver only: validate_bounce)
	// holds every byte a bridged request uses.
	bool whole_table = spec.rings == "direct" || spec.bounce_memory != "default";
	if (auto st = client->check_memory_messages(whole_table); !st)
		return with_context(spec.name, st.error());
	if (target.has(VIRTIO_BLK_F_BLK_SIZE)) {
		uint32_t block = config.blk_size;
		if (block != 512 && block != 4096)
			return failure(spec.name + ": " + what + " has a block size of " +
			               std::to_string(block) + " (vdused serves 512 or 4096)");
		if (block > spec.block_size && options.block_size_given)
			return usage_error(
			        spec.name + ": block size " + std::to_string(spec.block_size) +
			        " is smaller than the target's " + std::to_string(block));
		if (!options.block_size_given)
			spec.block_size = block;
		if (target.has(VIRTIO_BLK_F_TOPOLOGY) && config.physical_block_exp < 12) {
			uint32_t physical = block << config.physical_block_exp;
			if (physical > spec.block_size)
				spec.physical_block_size = physical;
		}
	}
	uint32_t queues = target.max_queues;
	if (target.has(VIRTIO_BLK_F_MQ) && config.num_queues > 0)
		queues = std::min<uint32_t>(queues, config.num_queues);
	if (!target.has(VIRTIO_BLK_F_MQ))
		queues = 1;
	if (spec.queues > queues)
		return failure(spec.name + ": " + what + " serves at most " +
		               std::to_string(queues) + " queue(s), not " +
		               std::to_string(spec.queues) + " (--queues)");
	if (target.has(VIRTIO_BLK_F_RO))
		spec.read_only = true;
	spec.flush = target.has(VIRTIO_BLK_F_FLUSH);
	spec.discard = target.has(VIRTIO_BLK_F_DISCARD);
	spec.write_zeroes = target.has(VIRTIO_BLK_F_WRITE_ZEROES);
	if (spec.discard) {
		spec.discard_segments = std::max<uint32_t>(1, config.max_discard_seg);
		spec.discard_sectors = config.max_discard_sectors;
		spec.discard = config.max_discard_sectors > 0;
	}
	if (spec.write_zeroes) {
		spec.write_zeroes_segments = std::max<uint32_t>(1, config.max_write_zeroes_seg);
		spec.write_zeroes_sectors = config.max_write_zeroes_sectors;
		spec.write_zeroes = config.max_write_zeroes_sectors > 0;
	}
	// What the target takes per request, if less than vdused's: the driver
	// is told, so that it never sends more (qemu-storage-daemon: 126
	// segments; a size_max of 0 means none).
	if (target.has(VIRTIO_BLK_F_SEG_MAX) && config.seg_max > 0)
		spec.seg_max = std::min(config.seg_max, blk_seg_max);
	if (target.has(VIRTIO_BLK_F_SIZE_MAX) && config.size_max > 0)
		spec.size_max = std::min(std::max<uint32_t>(config.size_max, 4096), blk_size_max);
	spec.vhost_user_features = vhost_user_wanted_features(target.features);
	if (config.capacity > UINT64_MAX / 512)
		return failure(spec.name + ": " + what + " reports a capacity of " +
		               std::to_string(config.capacity) + " sectors");
	return choose_size(spec, size, config.capacity * 512, what);
}

} // namespace

Status plan_remote(AddOptions &options, uint64_t size)
{
	if (options.spec.backend == "vhost-user")
		return plan_vhost_user(options, size);
	if (options.spec.backend == "nbd")
		return plan_nbd(options, size);
	return plan_rbd(options, size);
}

} // namespace vduse
