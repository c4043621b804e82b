// What a dead vdused (or anyone who can write /run/vduse) leaves for its
// successor: the in-flight log, recovered against a ring's used index.
// Whatever the bytes, recovery either refuses or owes heads inside the
// ring, each once.
#include "virtio/inflight_log.h"

#include <cstdlib>
#include <cstring>
#include <set>
#include <vector>

using namespace vduse;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	constexpr uint32_t depth = 32;
	if (size < 4)
		return 0;
	uint16_t ring_used;
	std::memcpy(&ring_used, data, 2);
	uint16_t ring_size = static_cast<uint16_t>(1u << (data[2] % 7)); // 1 to 64
	std::vector<uint8_t> memory(InflightLog::bytes_needed(1, depth));
	InflightLog log = InflightLog::in_memory(memory.data(), 1, depth);
	// The queue's part follows the 64-byte file header.
	std::memcpy(memory.data() + 64, data + 3, std::min(size - 3, memory.size() - 64));
	auto r = log.queue(0).recover(ring_used, ring_size);
	if (!r)
		return 0;
	std::set<uint16_t> seen;
	for (uint16_t head : r->heads)
		if (head >= ring_size || !seen.insert(head).second)
			std::abort();
	if (r->last_avail != static_cast<uint16_t>(ring_used + r->heads.size()) &&
	    !r->fixed_pending)
		std::abort();
	return 0;
}
