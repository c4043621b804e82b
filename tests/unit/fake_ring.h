// Hand-built split rings in a flat buffer standing for the driver's memory:
// IOVA = offset into the buffer; anything past its end is unmapped.
#pragma once

#include "virtio/guest_memory.h"
#include "virtio/split_queue.h"
#include "virtio/vring.h"

#include <cstring>
#include <vector>

namespace vduse::testing
{

class FlatMemory final : public GuestMemory
{
public:
	explicit FlatMemory(size_t size) : bytes(size) {}

	bool translate(uint64_t iova, uint64_t len, Access, std::vector<iovec> &out) override
	{
		if (len == 0)
			return true;
		if (iova >= bytes.size() || len > bytes.size() - iova)
			return false;
		out.push_back({bytes.data() + iova, len});
		return true;
	}
	void *translate_contiguous(uint64_t iova, uint64_t len, Access) override
	{
		if (len == 0 || iova >= bytes.size() || len > bytes.size() - iova)
			return nullptr;
		return bytes.data() + iova;
	}
	template <typename T>
	T *at(uint64_t iova)
	{
		return reinterpret_cast<T *>(bytes.data() + iova);
	}

	std::vector<uint8_t> bytes;
};

// A queue of `size` entries: descriptors at 0x1000, avail at 0x3000, used at
// 0x4000, buffers from 0x10000.
class FakeRing
{
public:
	static constexpr uint64_t desc_at = 0x1000, avail_at = 0x3000, used_at = 0x4000;

	explicit FakeRing(uint16_t size = 8, bool event_idx = false, size_t memory_bytes = 1 << 20)
	        : memory(memory_bytes), size_(size)
	{
		attached = queue.attach(memory, {desc_at, avail_at, used_at, size}, event_idx, 0);
	}
	// The queue points into this object: no copies.
	FakeRing(const FakeRing &) = delete;
	FakeRing &operator=(const FakeRing &) = delete;

	// A new ring over zeroed memory, as the constructor makes it.
	void reset(uint16_t size = 8, bool event_idx = false, size_t memory_bytes = 1 << 20)
	{
		memory.bytes.assign(memory_bytes, 0);
		size_ = size;
		queue = SplitQueue{};
		attached = queue.attach(memory, {desc_at, avail_at, used_at, size}, event_idx, 0);
	}

	void set_desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next = 0)
	{
		*memory.at<vring::Desc>(desc_at + 16u * i) = {addr, len, flags, next};
	}
	void make_available(uint16_t head)
	{
		uint16_t *avail = memory.at<uint16_t>(avail_at);
		avail[2 + (avail[1] % size_)] = head;
		++avail[1];
	}
	void set_avail_idx(uint16_t idx) { memory.at<uint16_t>(avail_at)[1] = idx; }
	uint16_t used_idx() { return memory.at<uint16_t>(used_at)[1]; }
	vring::UsedElem used_elem(uint16_t i)
	{
		return memory.at<vring::UsedElem>(used_at + 4)[i % size_];
	}
	void set_used_event(uint16_t value) { memory.at<uint16_t>(avail_at)[2 + size_] = value; }

	FlatMemory memory;
	SplitQueue queue;
	bool attached = false;

private:
	uint16_t size_;
};

} // namespace vduse::testing
