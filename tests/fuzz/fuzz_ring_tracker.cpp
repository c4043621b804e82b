// What the direct-rings tracker reads: a record file in /run/vduse (left by
// a dead vdused, or written by anyone who can write there) and rings that a
// driver and a vhost-user target write. Whatever the bytes, a scan stays
// inside the rings and the record, and a restart rewrites only the avail
// entries from the used index on, with distinct heads inside the ring.
#include "virtio/ring_tracker.h"
#include "virtio/vring.h"

#include <cstdlib>
#include <cstring>
#include <set>
#include <vector>

using namespace vduse;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	constexpr uint16_t capacity = 64;
	if (size < 2)
		return 0;
	auto ring_size =
	        static_cast<uint16_t>(1u << (data[0] % 8)); // 1 to 128: may exceed capacity
	size_t at = 1;
	auto take = [&](uint8_t *to, size_t n) {
		size_t k = std::min(n, size - at);
		std::memcpy(to, data + at, k);
		at += k;
	};
	std::vector<uint8_t> record(RingTracker::record_size(capacity));
	take(record.data(), record.size());
	std::vector<uint8_t> avail(vring::avail_bytes(ring_size));
	std::vector<uint8_t> used(vring::used_bytes(ring_size));
	take(avail.data(), avail.size());
	take(used.data(), used.size());
	RingTracker tracker(record.data(), capacity);
	SplitRingView ring{avail.data(), used.data(), ring_size};
	// The rest: index moves (driver, target) and scans, two bytes each.
	while (at + 2 <= size) {
		uint8_t op = data[at];
		uint8_t arg = data[at + 1];
		at += 2;
		uint16_t index = 0;
		switch (op % 4) {
		case 0:
			std::memcpy(&index, avail.data() + 2, 2);
			index = static_cast<uint16_t>(index + arg % 8);
			std::memcpy(avail.data() + 2, &index, 2);
			break;
		case 1:
			std::memcpy(&index, used.data() + 2, 2);
			index = static_cast<uint16_t>(index + arg % 8);
			std::memcpy(used.data() + 2, &index, 2);
			break;
		case 2:
			avail[4 + arg % (avail.size() - 4)] ^= arg;
			break;
		default:
			tracker.scan(ring);
		}
	}
	std::vector<uint8_t> before = avail;
	auto restart = tracker.make_available_again(ring);
	if (!restart)
		return 0;
	uint16_t used_index = 0;
	std::memcpy(&used_index, used.data() + 2, 2);
	if (restart->base != used_index || restart->outstanding > ring_size)
		std::abort();
	std::set<uint16_t> heads;
	for (uint16_t i = 0; i < ring_size; ++i) {
		uint16_t head = 0;
		std::memcpy(&head, avail.data() + 4 + size_t{2} * i, 2);
		auto position = static_cast<uint16_t>(i - restart->base) % ring_size;
		if (position < restart->outstanding) {
			if (head >= ring_size || !heads.insert(head).second)
				std::abort();
		} else if (std::memcmp(avail.data() + 4 + size_t{2} * i,
		                       before.data() + 4 + size_t{2} * i, 2) != 0) {
			std::abort();
		}
	}
	// Flags, index and used_event are the driver's: never written.
	if (std::memcmp(avail.data(), before.data(), 4) != 0 ||
	    std::memcmp(avail.data() + 4 + size_t{2} * ring_size,
	                before.data() + 4 + size_t{2} * ring_size, 2) != 0)
		std::abort();
	return 0;
}
