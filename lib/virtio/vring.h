// Split virtqueue layout (virtio 1.x, 2.7). <linux/virtio_ring.h> has inline C
// that is not valid C++, so the few definitions needed live here.
#pragma once

#include <cstdint>

namespace vduse::vring
{

inline constexpr unsigned f_indirect_desc = 28; // VIRTIO_RING_F_INDIRECT_DESC
inline constexpr unsigned f_event_idx = 29;     // VIRTIO_RING_F_EVENT_IDX

inline constexpr uint16_t desc_f_next = 1;
inline constexpr uint16_t desc_f_write = 2;
inline constexpr uint16_t desc_f_indirect = 4;
inline constexpr uint16_t used_f_no_notify = 1;
inline constexpr uint16_t avail_f_no_interrupt = 1;

struct Desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
static_assert(sizeof(Desc) == 16);

struct UsedElem {
	uint32_t id;
	uint32_t len;
};
static_assert(sizeof(UsedElem) == 8);

// Avail ring: flags, idx, ring[size], used_event.
inline constexpr size_t avail_bytes(size_t size)
{
	return sizeof(uint16_t) * (3 + size);
}
// Used ring: flags, idx, ring[size], avail_event.
inline constexpr size_t used_bytes(size_t size)
{
	return sizeof(uint16_t) * 3 + sizeof(UsedElem) * size;
}

// vring_need_event() of the virtio spec (2.7.10): whether moving an index
// from old_idx to new_idx passes event, the other side's wish.
inline constexpr bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return static_cast<uint16_t>(new_idx - event - 1) <
	       static_cast<uint16_t>(new_idx - old_idx);
}

} // namespace vduse::vring
