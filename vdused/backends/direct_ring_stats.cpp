#include "direct_ring_stats.h"

#include <limits>
#include <linux/virtio_blk.h>

namespace vduse
{

DirectRingStats::DirectRingStats(LiveQueueStats &stats, const BlkGeometry &geometry)
        : stats_(stats), geometry_(geometry)
{
	// Counted, not served: the target answers a request past the end.
	geometry_.capacity_sectors = std::numeric_limits<uint64_t>::max() / 512;
}

bool DirectRingStats::attach(GuestMemory &memory, const RingAddresses &rings, bool fresh)
{
	attached_ = queue_.attach(memory, rings, false, 0);
	if (fresh || pending_.size() != rings.size)
		pending_.assign(rings.size, Pending{});
	return attached_;
}

void DirectRingStats::made_available(uint16_t head)
{
	if (head >= pending_.size())
		return;
	pending_[head] = {latency_clock_ns(), true};
	if (!attached_) {
		stats_.count_request(0xffffffff, 0);
		return;
	}
	queue_.read_chain(head, chain_);
	decode_blk_request(chain_, geometry_, request_);
	stats_.count_request(request_.type, blk_bytes_moved(request_));
}

void DirectRingStats::returned(uint16_t head)
{
	if (head >= pending_.size())
		return;
	Pending &p = pending_[head];
	// Made available before this vdused started (it took over the rings):
	// counted now.
	if (!p.counted)
		made_available(head);
	// No status: by the time a scan sees the request returned, the driver
	// may have reaped it (it reaps in a loop after an interrupt) and reused
	// the bounce page of its status byte, often for a write's header, whose
	// first byte is 1, VIRTIO_BLK_S_IOERR: read anyway, 3049 of 40960
	// completions in vhu-009 (fio at QD16, 2 jobs) came out as errors.
	stats_.count_completion_without_status(latency_clock_ns() - p.seen_ns);
	p = {};
}

} // namespace vduse
