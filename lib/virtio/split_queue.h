// A split virtqueue, device side: takes descriptor chains from the avail ring,
// checks every index, length and flag the driver wrote, and returns them
// through the used ring. Nothing the driver writes can make it read or write
// outside the rings and the buffers that the IOTLB maps.
#pragma once

#include "virtio/guest_memory.h"
#include "virtio/ring_observer.h"
#include "virtio/vring.h"

#include <atomic>
#include <cstdint>
#include <string_view>
#include <sys/uio.h>
#include <vector>

namespace vduse
{

enum class ChainError {
	none,
	bad_next,        // a next index beyond the table
	loop,            // more descriptors than the table holds
	bad_indirect,    // indirect table of bad length, nested or with NEXT
	unmapped,        // a buffer outside the mapped memory, or with the wrong access
	write_then_read, // a device-readable descriptor after a device-writable one
	too_many_segments,
};
std::string_view chain_error_name(ChainError error);

struct DescriptorChain {
	uint16_t head = 0;
	ChainError error = ChainError::none; // the first one found
	std::vector<iovec> readable;         // device-readable buffers, in order
	std::vector<iovec> writable;         // device-writable buffers, in order
	// The last byte of the chain's last descriptor, where a device answers
	// (virtio-blk's status), if that descriptor is device-writable, not
	// empty and mapped; else nullptr. Found even when a buffer before it
	// was bad, as long as the chain's links are sound.
	uint8_t *last_byte = nullptr;
	uint32_t descriptors = 0; // buffer descriptors in the chain
	uint32_t longest = 0;     // bytes in the longest of them
	void clear()
	{
		error = ChainError::none;
		readable.clear();
		writable.clear();
		last_byte = nullptr;
		descriptors = 0;
		longest = 0;
	}
};

struct RingAddresses {
	uint64_t desc = 0;
	uint64_t avail = 0; // "driver area"
	uint64_t used = 0;  // "device area"
	uint16_t size = 0;
};

enum class PopResult {
	empty,  // nothing new in the avail ring
	chain,  // a chain was taken (it may carry an error; complete it anyway)
	broken, // the avail ring itself is corrupt: stop serving the queue
};

class SplitQueue
{
public:
	static constexpr size_t max_segments = 1024;

	// Maps the three rings; false if they are not mapped or size is not a power of two.
	bool attach(GuestMemory &memory, const RingAddresses &rings, bool event_idx,
	            uint16_t last_avail);

	// Reports every head taken and completed to OBSERVER (nullptr: none).
	// The observer must outlive the queue's use.
	void set_observer(RingObserver *observer) { observer_ = observer; }
	// After attach, when resuming from a dead process's log: continue from
	// this avail index, and interrupt the driver at the next chance.
	void resume_at(uint16_t last_avail);
	// The chain at HEAD, as pop() would give it (a request to resubmit).
	void read_chain(uint16_t head, DescriptorChain &chain);

	PopResult pop(DescriptorChain &chain);
	// Returns a chain to the driver with len bytes written to its writable buffers.
	void push(uint16_t head, uint32_t len);
	// Whether the driver wants an interrupt for what was pushed since the last one.
	bool need_interrupt();
	// Asks the driver to kick (or not) when it adds buffers; returns true if
	// buffers arrived meanwhile (call pop again before sleeping).
	bool enable_kicks();
	void disable_kicks();

	uint16_t last_avail() const { return last_avail_; }
	uint16_t used_idx() const { return used_idx_; }
	uint16_t size() const { return size_; }

private:
	void walk(uint16_t head, DescriptorChain &chain);
	// Collects desc's buffers into chain; false (and chain.error set) if
	// they cannot be used.
	bool add_buffer(const vring::Desc &desc, DescriptorChain &chain);
	void find_last_byte(const vring::Desc &last, DescriptorChain &chain);
	// The indirect table desc points at, in place or copied; nullptr if
	// it is not all mapped.
	const vring::Desc *indirect_table(const vring::Desc &desc);

	GuestMemory *memory_ = nullptr;
	vring::Desc *desc_ = nullptr;
	// avail: flags, idx, ring[size], used_event; used: flags, idx, then elements.
	uint16_t *avail_flags_ = nullptr;
	uint16_t *avail_idx_ = nullptr;
	uint16_t *avail_ring_ = nullptr;
	uint16_t *used_event_ = nullptr;
	uint16_t *used_flags_ = nullptr;
	uint16_t *used_idx_ptr_ = nullptr;
	vring::UsedElem *used_ring_ = nullptr;
	uint16_t *avail_event_ = nullptr;
	uint16_t size_ = 0;
	bool event_idx_ = false;
	uint16_t last_avail_ = 0;
	uint16_t used_idx_ = 0;
	uint16_t signalled_used_ = 0;
	bool signalled_used_valid_ = false;
	bool pushed_ = false; // since the last need_interrupt()
	RingObserver *observer_ = nullptr;
	std::vector<iovec> indirect_iov_;        // reused
	std::vector<vring::Desc> indirect_copy_; // an indirect table across IOTLB entries
};

} // namespace vduse
