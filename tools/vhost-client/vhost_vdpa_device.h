// The driver side of a /dev/vhost-vdpa-N block device, as a VMM drives it
// (QEMU's vhost-vdpa, libblkio's virtio-blk-vhost-vdpa): ownership, feature
// and status negotiation, the IOTLB (struct vhost_msg_v2 writes, batched)
// and the vrings. A test and benchmark instrument: every step can fail and
// says which.
#pragma once

#include "base/mapping.h"
#include "base/result.h"
#include "base/unique_fd.h"

#include <cstdint>
#include <string>
#include <vector>

namespace vduse::client
{

// All driver memory: one memfd mapped MAP_SHARED (vhost-vdpa skips
// anonymous memory), announced to the device at IOVAs that differ from the
// process's addresses, so that a device that skipped translation would fail.
class DriverMemory
{
public:
	static Result<DriverMemory> create(size_t bytes, uint64_t iova_base);

	uint8_t *base() const { return static_cast<uint8_t *>(mapping_.data()); }
	size_t size() const { return mapping_.size(); }
	uint64_t iova_base() const { return iova_base_; }
	uint64_t iova(const void *p) const
	{
		return iova_base_ + static_cast<uint64_t>(static_cast<const uint8_t *>(p) - base());
	}
	template <typename T>
	T *at(uint64_t offset) const
	{
		return reinterpret_cast<T *>(base() + offset);
	}
	// Shrinks the memory file under the mapping (a VMM that truncates its
	// memfd): touching past the new end is SIGBUS, here and for the device.
	Status truncate_file(size_t bytes) const;

private:
	DriverMemory(UniqueFd fd, Mapping mapping, uint64_t iova_base)
	        : fd_(std::move(fd)), mapping_(std::move(mapping)), iova_base_(iova_base)
	{
	}
	UniqueFd fd_;
	Mapping mapping_;
	uint64_t iova_base_ = 0;
};

struct VringSetup {
	uint32_t index = 0;
	uint32_t size = 0;
	uint64_t desc = 0, avail = 0, used = 0; // IOVAs
	int kick_fd = -1;
	int call_fd = -1;
};

class VhostVdpaDevice
{
public:
	// Opens the node, takes ownership and checks it is a block device.
	static Result<VhostVdpaDevice> open(const std::string &path);

	const std::string &path() const { return path_; }
	uint64_t device_features() const { return device_features_; }
	uint16_t max_ring_size() const { return max_ring_size_; }
	std::vector<uint8_t> config() const;

	// Reset, ACKNOWLEDGE | DRIVER, the features, FEATURES_OK (read back).
	Status negotiate(uint64_t features);
	// Announces [iova, iova + size) at uaddr with VHOST_ACCESS_* perm; as
	// one batch of entries of at most chunk bytes each (0: one entry).
	Status map(uint64_t iova, uint64_t size, const void *uaddr, uint8_t perm, uint64_t chunk);
	Status unmap(uint64_t iova, uint64_t size);
	// The same range dropped and announced again in entries of chunk
	// bytes, in one batch (one memory table for the device, as a VMM's
	// memory listener sends when its sections change).
	Status remap(uint64_t iova, uint64_t size, const void *uaddr, uint8_t perm, uint64_t chunk);
	Status setup_vring(const VringSetup &vring);
	// DRIVER_OK; fails if the device does not take it (status read back).
	Status driver_ok();
	Status reset();
	Result<uint8_t> status() const;
	uint64_t features() const { return features_; }

private:
	VhostVdpaDevice(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path))
	{
	}
	Status set_status(uint8_t status);
	Status map_batch(bool invalidate_first, uint64_t iova, uint64_t size, const void *uaddr,
	                 uint8_t perm, uint64_t chunk);
	// Sets bit on top of the status; fails, saying the device `refused`, if
	// reading the status back lacks it.
	Status add_status(uint8_t bit, const char *refused);
	Status iotlb_message(uint8_t type, uint64_t iova, uint64_t size, uint64_t uaddr,
	                     uint8_t perm);

	UniqueFd fd_;
	std::string path_;
	uint64_t device_features_ = 0;
	uint64_t features_ = 0;
	uint16_t max_ring_size_ = 0;
	uint32_t config_size_ = 0;
	uint8_t status_ = 0;
};

} // namespace vduse::client
