// The virtio-blk device: what the driver is told (feature bits, config
// space) and what requests are checked against.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vduse
{

inline constexpr uint32_t blk_seg_max = 254;                  // data segments per request
inline constexpr uint32_t blk_size_max = 1u << 20;            // bytes per segment
inline constexpr uint32_t blk_max_discard_seg = 16;           // ranges per discard / write zeroes
inline constexpr uint32_t blk_max_discard_sectors = 1u << 22; // 2 GiB per range

struct BlkGeometry {
	uint64_t capacity_sectors = 0; // 512-byte sectors
	uint32_t block_size = 512;
	bool read_only = false;
	std::string serial;
	uint32_t physical_block_size = 0; // 0: same as block_size
	uint32_t queues = 1;
	// Offered to the driver (a read-only device offers neither discard nor
	// write zeroes).
	bool flush = true;
	bool discard = true;
	bool write_zeroes = true;
	// Smaller limits than the blk_max_* above, 0 for those (a backend's own).
	uint32_t discard_segments = 0;
	uint32_t discard_sectors = 0;
	uint32_t write_zeroes_segments = 0;
	uint32_t write_zeroes_sectors = 0;
	uint32_t seg_max = 0;  // data segments per request
	uint32_t size_max = 0; // bytes per segment
	uint32_t max_segments(bool write_zeroes) const;
	uint32_t max_sectors(bool write_zeroes) const;
	// seg_max and size_max as announced: the smaller of the above and
	// blk_seg_max, blk_size_max.
	uint32_t data_segments() const;
	uint32_t segment_bytes() const;
};

uint64_t blk_device_features(const BlkGeometry &geometry);
std::vector<uint8_t> blk_config_space(const BlkGeometry &geometry);

} // namespace vduse
