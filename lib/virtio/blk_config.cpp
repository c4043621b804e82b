#include "virtio/blk_config.h"

#include "virtio/vring.h"

#include <bit>
#include <cstddef>
#include <cstring>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>

namespace vduse
{

namespace
{
uint32_t limit(uint32_t own, uint32_t ours)
{
	return own != 0 && own < ours ? own : ours;
}
} // namespace

uint32_t BlkGeometry::max_segments(bool zeroes) const
{
	return limit(zeroes ? write_zeroes_segments : discard_segments, blk_max_discard_seg);
}

uint32_t BlkGeometry::max_sectors(bool zeroes) const
{
	return limit(zeroes ? write_zeroes_sectors : discard_sectors, blk_max_discard_sectors);
}

uint32_t BlkGeometry::data_segments() const
{
	return limit(seg_max, blk_seg_max);
}

uint32_t BlkGeometry::segment_bytes() const
{
	return limit(size_max, blk_size_max);
}

uint64_t blk_device_features(const BlkGeometry &geometry)
{
	auto bit = [](unsigned n) { return uint64_t{1} << n; };
	// VIRTIO_F_ACCESS_PLATFORM is mandatory for VDUSE (drivers/vdpa/vdpa_user/vduse_dev.c,
	// features_is_valid); VIRTIO_BLK_F_CONFIG_WCE is refused there.
	uint64_t features = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_ACCESS_PLATFORM) |
	                    bit(vring::f_indirect_desc) | bit(vring::f_event_idx) |
	                    bit(VIRTIO_BLK_F_SIZE_MAX) | bit(VIRTIO_BLK_F_SEG_MAX) |
	                    bit(VIRTIO_BLK_F_BLK_SIZE) | bit(VIRTIO_BLK_F_TOPOLOGY) |
	                    bit(VIRTIO_BLK_F_MQ);
	if (geometry.flush)
		features |= bit(VIRTIO_BLK_F_FLUSH);
	if (geometry.read_only)
		features |= bit(VIRTIO_BLK_F_RO);
	if (!geometry.read_only && geometry.discard)
		features |= bit(VIRTIO_BLK_F_DISCARD);
	if (!geometry.read_only && geometry.write_zeroes)
		features |= bit(VIRTIO_BLK_F_WRITE_ZEROES);
	return features;
}

std::vector<uint8_t> blk_config_space(const BlkGeometry &geometry)
{
	virtio_blk_config cfg{};
	cfg.capacity = geometry.capacity_sectors;
	cfg.size_max = geometry.segment_bytes();
	cfg.seg_max = geometry.data_segments();
	cfg.blk_size = geometry.block_size;
	uint32_t physical =
	        geometry.physical_block_size ? geometry.physical_block_size : geometry.block_size;
	cfg.physical_block_exp =
	        static_cast<uint8_t>(std::countr_zero(physical / geometry.block_size));
	cfg.min_io_size = 1;
	cfg.opt_io_size = 0;
	cfg.num_queues = static_cast<uint16_t>(geometry.queues);
	uint32_t block_sectors = geometry.block_size / 512;
	cfg.max_discard_sectors = geometry.max_sectors(false);
	cfg.max_discard_seg = geometry.max_segments(false);
	cfg.discard_sector_alignment = block_sectors;
	cfg.max_write_zeroes_sectors = geometry.max_sectors(true);
	cfg.max_write_zeroes_seg = geometry.max_segments(true);
	cfg.write_zeroes_may_unmap = 1;
	// Only the fields up to write zeroes are offered; later ones (secure erase)
	// belong to features this device does not have.
	size_t size = offsetof(virtio_blk_config, unused1) + sizeof(cfg.unused1);
	std::vector<uint8_t> bytes(size);
	std::memcpy(bytes.data(), &cfg, size);
	return bytes;
}

} // namespace vduse
