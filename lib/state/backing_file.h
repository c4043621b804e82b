// Opening the file or block device behind a file or loop device, shared by
// vdusectl (to check and size it before creating anything) and vdused.
#pragma once

#include "base/result.h"
#include "base/unique_fd.h"
#include "state/device_spec.h"

#include <cstdint>

namespace vduse
{

struct BackingFile {
	UniqueFd fd;
	bool block_device = false;
	uint64_t size = 0;
	uint32_t logical_block_size = 0;  // block devices only
	uint32_t physical_block_size = 0; // block devices only
	bool read_only = false;           // the block device itself is read-only
	// O_DIRECT: the alignment every buffer's address and length needs; 0: none.
	uint32_t direct_alignment = 0;
};

// Opens spec.file read-write (read-only with spec.read_only), O_DIRECT for
// loop or spec.direct, and exclusively (O_EXCL) if it is a block device.
Result<BackingFile> open_backing_file(const DeviceSpec &spec);

// The size of the file or block device at path now, without claiming it
// (vdused holds it). Sets block_device.
Result<uint64_t> backing_size(const std::string &path, bool &block_device);

// Whether the file system of the regular file at path can zero a range in
// place (fallocate PUNCH_HOLE, which every file system with ZERO_RANGE has
// too): 9p, NFS before 4.2 and many FUSE file systems cannot. The probe
// punches a hole beyond the end of the file, which changes nothing. True for a block device (the
// kernel zeroes one by writing, block/fops.c) and when the file cannot be opened for writing (the
// device is read-only, or opening it fails later, saying why).
bool zeroes_in_place(const std::string &path);

// Creates a sparse file of the given size; EEXIST if it exists.
Status create_sparse_file(const std::string &path, uint64_t size);

} // namespace vduse
