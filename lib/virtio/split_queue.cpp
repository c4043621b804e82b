#include "virtio/split_queue.h"

#include "virtio/iovec.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

namespace vduse
{

namespace
{

template <typename T>
T load_acquire(T &field)
{
	return std::atomic_ref<T>(field).load(std::memory_order_acquire);
}

template <typename T>
void store_release(T &field, T value)
{
	std::atomic_ref<T>(field).store(value, std::memory_order_release);
}

} // namespace

std::string_view chain_error_name(ChainError error)
{
	switch (error) {
	case ChainError::none:
		return "none";
	case ChainError::bad_next:
		return "next index out of range";
	case ChainError::loop:
		return "descriptor loop";
	case ChainError::bad_indirect:
		return "bad indirect table";
	case ChainError::unmapped:
		return "buffer not mapped";
	case ChainError::write_then_read:
		return "readable descriptor after a writable one";
	case ChainError::too_many_segments:
		return "too many segments";
	}
	return "unknown";
}

bool SplitQueue::attach(GuestMemory &memory, const RingAddresses &rings, bool event_idx,
                        uint16_t last_avail)
{
	if (rings.size == 0 || !std::has_single_bit(rings.size))
		return false;
	size_t n = rings.size;
	// The event fields trail the rings (virtio 1.x, 2.7.10 and 2.7.8).
	desc_ = static_cast<vring::Desc *>(
	        memory.translate_contiguous(rings.desc, sizeof(vring::Desc) * n, Access::read));
	auto *avail = static_cast<uint16_t *>(
	        memory.translate_contiguous(rings.avail, vring::avail_bytes(n), Access::read));
	auto *used = static_cast<uint16_t *>(
	        memory.translate_contiguous(rings.used, vring::used_bytes(n), Access::write));
	if (!desc_ || !avail || !used ||
	    reinterpret_cast<uintptr_t>(used) % alignof(vring::UsedElem) != 0)
		return false;
	avail_flags_ = avail;
	avail_idx_ = avail + 1;
	avail_ring_ = avail + 2;
	used_event_ = avail + 2 + n;
	used_flags_ = used;
	used_idx_ptr_ = used + 1;
	used_ring_ = reinterpret_cast<vring::UsedElem *>(used + 2);
	avail_event_ = reinterpret_cast<uint16_t *>(used_ring_ + n);
	memory_ = &memory;
	size_ = rings.size;
	event_idx_ = event_idx;
	last_avail_ = last_avail;
	used_idx_ = load_acquire(*used_idx_ptr_);
	signalled_used_valid_ = false;
	pushed_ = false;
	return true;
}

PopResult SplitQueue::pop(DescriptorChain &chain)
{
	uint16_t idx = load_acquire(*avail_idx_);
	if (idx == last_avail_)
		return PopResult::empty;
	// The driver may be at most a ring ahead of us.
	if (static_cast<uint16_t>(idx - last_avail_) > size_)
		return PopResult::broken;
	uint16_t head = std::atomic_ref<uint16_t>(avail_ring_[last_avail_ & (size_ - 1)])
	                        .load(std::memory_order_relaxed);
	if (head >= size_)
		return PopResult::broken;
	if (observer_)
		observer_->taken(head);
	++last_avail_;
	read_chain(head, chain);
	return PopResult::chain;
}

void SplitQueue::read_chain(uint16_t head, DescriptorChain &chain)
{
	chain.clear();
	chain.head = head;
	walk(head, chain);
}

void SplitQueue::resume_at(uint16_t last_avail)
{
	last_avail_ = last_avail;
	// The dead process may have completed requests without interrupting.
	pushed_ = true;
	signalled_used_valid_ = false;
}

bool SplitQueue::add_buffer(const vring::Desc &desc, DescriptorChain &chain)
{
	bool device_writes = desc.flags & vring::desc_f_write;
	if (!device_writes && !chain.writable.empty()) {
		chain.error = ChainError::write_then_read;
		return false;
	}
	auto &list = device_writes ? chain.writable : chain.readable;
	if (!memory_->translate(desc.addr, desc.len, device_writes ? Access::write : Access::read,
	                        list)) {
		chain.error = ChainError::unmapped;
		return false;
	}
	if (chain.readable.size() + chain.writable.size() > max_segments) {
		chain.error = ChainError::too_many_segments;
		return false;
	}
	return true;
}

void SplitQueue::find_last_byte(const vring::Desc &last, DescriptorChain &chain)
{
	if (!(last.flags & vring::desc_f_write) || last.len == 0)
		return;
	uint64_t iova = last.addr + (last.len - 1);
	if (iova < last.addr)
		return;
	chain.last_byte =
	        static_cast<uint8_t *>(memory_->translate_contiguous(iova, 1, Access::write));
}

const vring::Desc *SplitQueue::indirect_table(const vring::Desc &desc)
{
	if (auto *table = static_cast<const vring::Desc *>(
	            memory_->translate_contiguous(desc.addr, desc.len, Access::read)))
		return table;
	// A table across two IOTLB entries is valid; each entry is its own
	// mapping here, so read it into one piece.
	indirect_iov_.clear();
	if (!memory_->translate(desc.addr, desc.len, Access::read, indirect_iov_))
		return nullptr;
	indirect_copy_.resize(desc.len / sizeof(vring::Desc));
	iov_copy_out(indirect_iov_, 0, indirect_copy_.data(), desc.len);
	return indirect_copy_.data();
}

void SplitQueue::walk(uint16_t head, DescriptorChain &chain)
{
	const vring::Desc *table = desc_;
	uint32_t table_size = size_;
	uint32_t index = head;
	uint32_t seen = 0;
	bool in_indirect = false;
	// After a bad buffer the walk goes on through the links only, to find
	// the last descriptor: its byte is where the error is reported.
	bool collecting = true;
	for (;;) {
		if (index >= table_size) {
			chain.error = ChainError::bad_next;
			return;
		}
		if (++seen > table_size) {
			chain.error = ChainError::loop;
			return;
		}
		// One copy of the descriptor: the driver may change it under our feet.
		vring::Desc desc;
		std::memcpy(&desc, &table[index], sizeof(desc));
		if (desc.flags & vring::desc_f_indirect) {
			if (in_indirect || (desc.flags & vring::desc_f_next) || desc.len == 0 ||
			    desc.len % sizeof(vring::Desc) != 0 ||
			    desc.len / sizeof(vring::Desc) > 32768) {
				chain.error = ChainError::bad_indirect;
				return;
			}
			table = indirect_table(desc);
			if (!table) {
				chain.error = ChainError::unmapped;
				return;
			}
			table_size = desc.len / sizeof(vring::Desc);
			in_indirect = true;
			index = 0;
			seen = 0;
			continue;
		}
		++chain.descriptors;
		chain.longest = std::max(chain.longest, desc.len);
		if (collecting && !add_buffer(desc, chain))
			collecting = false;
		if (!(desc.flags & vring::desc_f_next)) {
			find_last_byte(desc, chain);
			return;
		}
		index = desc.next;
	}
}

void SplitQueue::push(uint16_t head, uint32_t len)
{
	vring::UsedElem &elem = used_ring_[used_idx_ & (size_ - 1)];
	elem.id = head;
	elem.len = len;
	++used_idx_;
	pushed_ = true;
	if (observer_)
		observer_->completing(head);
	store_release(*used_idx_ptr_, used_idx_);
	if (observer_)
		observer_->completed(head, used_idx_);
}

bool SplitQueue::need_interrupt()
{
	if (!std::exchange(pushed_, false))
		return false;
	// The used index must be visible before we read what the driver asked for.
	std::atomic_thread_fence(std::memory_order_seq_cst);
	if (!event_idx_)
		return !(load_acquire(*avail_flags_) & vring::avail_f_no_interrupt);
	uint16_t old = signalled_used_;
	bool valid = signalled_used_valid_;
	uint16_t now = used_idx_;
	signalled_used_ = now;
	signalled_used_valid_ = true;
	if (!valid)
		return true;
	if (old == now)
		return false;
	return vring::need_event(load_acquire(*used_event_), now, old);
}

void SplitQueue::disable_kicks()
{
	if (!event_idx_)
		store_release(*used_flags_,
		              static_cast<uint16_t>(*used_flags_ | vring::used_f_no_notify));
}

bool SplitQueue::enable_kicks()
{
	if (event_idx_)
		store_release(*avail_event_, last_avail_);
	else
		store_release(*used_flags_,
		              static_cast<uint16_t>(*used_flags_ & ~vring::used_f_no_notify));
	// Publish the request for kicks before looking at the avail index again.
	std::atomic_thread_fence(std::memory_order_seq_cst);
	return load_acquire(*avail_idx_) != last_avail_;
}

} // namespace vduse
