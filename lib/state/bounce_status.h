// What vdused made of a device's bounce buffer, kept in STATE_DIR/NAME.bounce
// for show: the memory it supplies ("hugepage" or "shmem"), its size, and
// whether the kernel is using it now (registered with VDUSE_IOTLB_REG_UMEM
// since the driver's first I/O, until a reset).
#pragma once

#include "base/result.h"

#include <cstdint>
#include <filesystem>
#include <string>

namespace vduse
{

struct BounceStatus {
	std::string memory;
	uint64_t size = 0;
	bool registered = false;
};

Status write_bounce_status(const std::filesystem::path &path, const BounceStatus &status);
Result<BounceStatus> read_bounce_status(const std::filesystem::path &path);

} // namespace vduse
