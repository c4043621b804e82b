// The bounce buffer of a VDUSE device bound to virtio_vdpa: IOVA
// [0, bounce_size) where the kernel copies every byte of I/O. Its size is
// set through sysfs before the first attach; its memory is the kernel's
// unless the daemon supplies its own with VDUSE_IOTLB_REG_UMEM (huge pages
// or shmem), which then lives in a memfd the daemon maps, and can register
// as io_uring fixed buffers.
#pragma once

#include "base/mapping.h"
#include "base/result.h"
#include "base/unique_fd.h"

#include <cstdint>
#include <string>

namespace vduse
{

// /sys/class/vduse/NAME/bounce_size: refused by the kernel once the device
// was attached to the vdpa bus (drivers/vdpa/vdpa_user/vduse_dev.c,
// bounce_size_store).
Status set_bounce_size(const std::string &name, uint64_t bytes);
Result<uint64_t> read_bounce_size(const std::string &name);

// Free 2 MiB huge pages (0 where the kernel has none).
uint64_t free_huge_pages();

class BounceMemory
{
public:
	// kind: "hugepage", "shmem" or "auto" (huge pages if they can be had,
	// else shmem). The memory is populated at once, so that a shortage of
	// huge pages is an error now and not a SIGBUS later.
	static Result<BounceMemory> allocate(const std::string &device, const std::string &kind,
	                                     uint64_t size);

	uint8_t *data() const { return static_cast<uint8_t *>(mapping_.data()); }
	uint64_t size() const { return mapping_.size(); }
	int fd() const { return fd_.get(); }
	// What was allocated: "hugepage" or "shmem".
	const std::string &kind() const { return kind_; }
	bool contains(const void *address, uint64_t length) const
	{
		auto p = reinterpret_cast<uintptr_t>(address);
		auto base = reinterpret_cast<uintptr_t>(mapping_.data());
		return p >= base && length <= size() && p - base <= size() - length;
	}

private:
	BounceMemory(UniqueFd fd, Mapping mapping, std::string kind)
	        : fd_(std::move(fd)), mapping_(std::move(mapping)), kind_(std::move(kind))
	{
	}
	UniqueFd fd_;
	Mapping mapping_;
	std::string kind_;
};

// Raises RLIMIT_MEMLOCK to at least bytes if it is lower (the kernel
// counts VDUSE_IOTLB_REG_UMEM's and io_uring's pinned pages against it,
// whatever the capabilities for the former); fails naming the limit if it
// cannot.
Status ensure_memlock(uint64_t bytes);

} // namespace vduse
