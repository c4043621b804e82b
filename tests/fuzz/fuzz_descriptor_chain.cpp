// What a driver can feed vdused's data path: rings and descriptor chains in
// its memory, then the virtio-blk requests they hold. The input is the
// driver's memory (rings at fixed places, buffers anywhere in it) and a ring
// size; every chain the queue gives is decoded, its data touched as a
// backend would, and completed.
#include "fake_ring.h"
#include "virtio/blk_request.h"
#include "virtio/iovec.h"

#include <cstdlib>
#include <cstring>

using namespace vduse;

namespace
{

// A compact layout, so that inputs stay small: rings of up to 16 entries,
// then buffers; memory past the input reads as zeros.
constexpr uint64_t desc_at = 0x0, avail_at = 0x100, used_at = 0x140;
constexpr size_t memory_bytes = 16 * 1024;

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	// Ring sizes 1 to 16, or not a power of two, from the first byte.
	static constexpr uint16_t sizes[] = {1, 2, 4, 8, 16, 3, 0};
	uint16_t ring_size = sizes[data[0] % std::size(sizes)];
	bool event_idx = data[1] & 1;
	testing::FlatMemory memory(memory_bytes);
	std::memcpy(memory.bytes.data(), data + 2, std::min(size - 2, memory.bytes.size()));
	SplitQueue queue;
	if (!queue.attach(memory, {desc_at, avail_at, used_at, ring_size}, event_idx, 0))
		return 0;
	BlkGeometry geometry{1 << 16, data[1] & 2 ? 4096u : 512u, (data[1] & 4) != 0, "FUZZ"};
	DescriptorChain chain;
	BlkRequest req;
	for (int n = 0; n < 64; ++n) {
		PopResult r = queue.pop(chain);
		if (r != PopResult::chain)
			break;
		uint8_t status = decode_blk_request(chain, geometry, req);
		if (!req.status)
			break; // vdused stops the queue here
		if (status == VIRTIO_BLK_S_OK && req.type == VIRTIO_BLK_T_IN)
			iov_zero(req.data);
		if (status == VIRTIO_BLK_S_OK && req.type == VIRTIO_BLK_T_OUT) {
			std::vector<uint8_t> copy(req.data_len);
			if (iov_copy_out(req.data, 0, copy.data(), copy.size()) != copy.size())
				std::abort(); // the data is shorter than decode said
		}
		for (const BlkRange &range : req.ranges)
			if (range.length == 0 ||
			    range.offset + range.length > geometry.capacity_sectors * 512)
				std::abort(); // decode let a bad range through
		*req.status = status;
		queue.push(chain.head, blk_used_length(req, status));
		(void)queue.need_interrupt();
	}
	(void)queue.enable_kicks();
	return 0;
}
