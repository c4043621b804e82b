#include "virtio/ring_tracker.h"

#include "virtio/vring.h"

#include <cstring>
#include <endian.h>

namespace vduse
{

namespace
{

uint16_t load_index(const uint8_t *ring)
{
	uint16_t index = 0;
	__atomic_load(reinterpret_cast<const uint16_t *>(ring + 2), &index, __ATOMIC_ACQUIRE);
	return le16toh(index);
}

// Where the avail ring keeps the entry of position.
size_t avail_slot(const SplitRingView &ring, uint16_t position)
{
	return 4 + sizeof(uint16_t) * static_cast<size_t>(position % ring.size);
}

uint16_t avail_entry(const SplitRingView &ring, uint16_t position)
{
	uint16_t head = 0;
	std::memcpy(&head, ring.avail + avail_slot(ring, position), sizeof(head));
	return le16toh(head);
}

uint32_t used_entry(const SplitRingView &ring, uint16_t position)
{
	uint32_t id = 0;
	std::memcpy(&id,
	            ring.used + 4 +
	                    sizeof(vring::UsedElem) * static_cast<size_t>(position % ring.size),
	            sizeof(id));
	return le32toh(id);
}

} // namespace

size_t RingTracker::record_size(uint16_t capacity)
{
	return sizeof(Header) + capacity;
}

void RingTracker::reset(uint16_t avail_index)
{
	std::memset(counts(), 0, capacity_);
	header() = {1, avail_index, avail_index};
}

bool RingTracker::known() const
{
	return header().known == 1;
}

void RingTracker::forget()
{
	header().known = 0;
}

void RingTracker::scan(const SplitRingView &ring, RingScanObserver *observer)
{
	if (ring.size == 0 || ring.size > capacity_)
		return forget();
	Header &h = header();
	uint16_t used = load_index(ring.used);
	uint16_t avail = load_index(ring.avail);
	auto made = static_cast<uint16_t>(avail - h.last_avail);
	auto returned = static_cast<uint16_t>(used - h.last_used);
	if (known() && (made > ring.size || returned > ring.size))
		forget();
	int8_t *count = counts();
	if (known()) {
		// A head may be returned and made available again within one
		// window, in either list: only the sums are 0 or 1.
		// Only the heads seen are looked at (a scan per completion).
		made_.resize(capacity_);
		returned_.resize(capacity_);
		touched_.clear();
		auto add = [&](uint32_t head, std::vector<uint32_t> &events) {
			if (head >= ring.size)
				return forget();
			if (made_[head] == 0 && returned_[head] == 0)
				touched_.push_back(static_cast<uint16_t>(head));
			++events[head];
		};
		for (uint16_t i = 0; i < made; ++i)
			add(avail_entry(ring, static_cast<uint16_t>(h.last_avail + i)), made_);
		for (uint16_t i = 0; i < returned; ++i)
			add(used_entry(ring, static_cast<uint16_t>(h.last_used + i)), returned_);
		// Entries read while the other side went on: still the ones of
		// those positions only if less than a ring went by since.
		if (static_cast<uint16_t>(load_index(ring.avail) - h.last_avail) > ring.size ||
		    static_cast<uint16_t>(load_index(ring.used) - h.last_used) > ring.size)
			forget();
		for (uint16_t head : touched_) {
			int64_t now = int64_t{count[head]} + made_[head] - returned_[head];
			if (now != 0 && now != 1)
				forget();
			// Its events alternate: a return first if it was outstanding.
			if (observer && known()) {
				bool outstanding = count[head] == 1;
				for (uint32_t n = made_[head] + returned_[head]; n > 0; --n) {
					if (outstanding)
						observer->returned(head);
					else
						observer->made_available(head);
					outstanding = !outstanding;
				}
			}
			count[head] = static_cast<int8_t>(now == 1);
			made_[head] = 0;
			returned_[head] = 0;
		}
	}
	h.last_avail = avail;
	h.last_used = used;
	// Nothing outstanding: the counts are all zero again.
	if (!known() && avail == used) {
		std::memset(count, 0, capacity_);
		h.known = 1;
	}
}

std::optional<RingTracker::Restart> RingTracker::make_available_again(const SplitRingView &ring,
                                                                      RingScanObserver *observer)
{
	scan(ring, observer);
	if (ring.size == 0 || !known())
		return std::nullopt;
	Header &h = header();
	std::vector<uint16_t> heads;
	for (uint16_t head = 0; head < ring.size; ++head)
		if (counts()[head] == 1)
			heads.push_back(head);
	if (heads.size() != static_cast<uint16_t>(h.last_avail - h.last_used)) {
		forget();
		return std::nullopt;
	}
	// The entries [used, avail) are the driver's past: it writes from its
	// avail index on, and it reads none of them back
	// (drivers/virtio/virtio_ring.c keeps its own copy).
	for (size_t i = 0; i < heads.size(); ++i) {
		uint16_t value = htole16(heads[i]);
		auto position = static_cast<uint16_t>(h.last_used + i);
		std::memcpy(ring.avail + avail_slot(ring, position), &value, sizeof(value));
	}
	__atomic_thread_fence(__ATOMIC_RELEASE);
	return Restart{h.last_used, static_cast<uint16_t>(heads.size())};
}

} // namespace vduse
