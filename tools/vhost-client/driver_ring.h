// A split virtqueue seen from the driver: descriptors, avail ring, used
// ring, kick and call eventfds, in DriverMemory. Normal use adds chains and
// reaps the used ring; raw access lets the hostile mode break the rings on
// purpose.
#pragma once

#include "base/result.h"
#include "base/unique_fd.h"
#include "vhost_vdpa_device.h"
#include "virtio/vring.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace vduse::client
{

class DriverRing
{
public:
	// Bytes of driver memory a ring of size entries needs (page aligned).
	static size_t bytes_needed(uint16_t size);

	// The ring lives at memory offset `offset`.
	DriverRing(DriverMemory &memory, uint64_t offset, uint32_t index, uint16_t size);

	// Zeroes the ring and hands it to the device (VHOST_SET_VRING_*);
	// tests may announce another size or descriptor table address.
	Status attach(VhostVdpaDevice &device, uint16_t announced_size = 0,
	              uint64_t announced_desc = 0);

	uint16_t size() const { return size_; }
	uint32_t index() const { return index_; }
	// Descriptors: taken from and given back to a free list.
	std::optional<std::vector<uint16_t>> alloc(size_t count);
	void release_chain(uint16_t head);
	size_t free_count() const { return free_.size(); }
	vring::Desc &desc(uint16_t i) { return desc_[i]; }

	// Makes head available (does not kick).
	void publish(uint16_t head);
	// Puts head in the avail ring without making the index visible.
	void place(uint16_t head);
	// Kicks unless the device asked not to be.
	void kick();
	void force_kick();
	// Waits up to timeout_ms for the call eventfd; false on timeout.
	bool wait_call(int timeout_ms);
	std::optional<vring::UsedElem> next_used();
	// Whether the device has used buffers not yet taken (next_used()).
	bool has_used() const;

	// Raw access for hostile tests.
	uint16_t *avail_idx() { return avail_ + 1; }
	uint16_t *avail_ring() { return avail_ + 2; }
	uint16_t shadow_avail() const { return avail_shadow_; }
	void set_shadow_avail(uint16_t v) { avail_shadow_ = v; }

private:
	DriverMemory &memory_;
	uint64_t offset_;
	uint32_t index_;
	uint16_t size_;
	vring::Desc *desc_ = nullptr;
	uint16_t *avail_ = nullptr;
	uint16_t *used_ = nullptr;
	uint16_t avail_shadow_ = 0;
	uint16_t last_used_ = 0;
	std::vector<uint16_t> free_;
	UniqueFd kick_fd_;
	UniqueFd call_fd_;
};

} // namespace vduse::client
