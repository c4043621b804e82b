// The virtio-blk device a spec describes: feature bits and config space.
#pragma once

#include "device_spec.h"

#include <cstdint>
#include <vector>

namespace vduse
{

inline constexpr uint32_t blk_seg_max = 254;                  // data segments per request
inline constexpr uint32_t blk_size_max = 1u << 20;            // bytes per segment
inline constexpr uint32_t blk_max_discard_seg = 16;           // ranges per discard / write zeroes
inline constexpr uint32_t blk_max_discard_sectors = 1u << 22; // 2 GiB per range

uint64_t blk_device_features(const DeviceSpec &spec);
std::vector<uint8_t> blk_config_space(const DeviceSpec &spec);

} // namespace vduse
