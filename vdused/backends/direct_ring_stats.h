// vdusectl stats for a ring a vhost-user target serves directly (direct
// rings: no request passes through vdused), counted from what the ring
// tracker reads at each kick and completion: a request's type and bytes
// from its descriptors when it is seen made available, its completion
// (without a status: unknown_status, see direct_ring_stats.cpp) and latency
// when it is seen returned. So the latency runs from the scan that saw the
// request to the one that saw it done (within a kick's and a completion's
// wake-up of the truth), and a request the driver finished and reused the
// descriptors of before a scan read them counts as the new one (the scans
// come at every kick and completion: rare).
#pragma once

#include "state/device_stats.h"
#include "virtio/blk_config.h"
#include "virtio/blk_request.h"
#include "virtio/ring_tracker.h"
#include "virtio/split_queue.h"

#include <vector>

namespace vduse
{

class DirectRingStats final : public RingScanObserver
{
public:
	DirectRingStats(LiveQueueStats &stats, const BlkGeometry &geometry);

	// The ring as the driver set it up (at each start, the IOTLB may have
	// changed); false if it is not mapped. fresh: a new driver session,
	// nothing of the last one is waited for.
	bool attach(GuestMemory &memory, const RingAddresses &rings, bool fresh);
	void made_available(uint16_t head) override;
	void returned(uint16_t head) override;
	void kicked(uint64_t count) { LiveQueueStats::add(stats_.kicks, count); }
	void interrupted() { LiveQueueStats::add(stats_.interrupts); }
	void resubmitted(uint64_t count) { LiveQueueStats::add(stats_.resubmitted, count); }

private:
	struct Pending {
		uint64_t seen_ns = 0;
		bool counted = false;
	};
	LiveQueueStats &stats_;
	BlkGeometry geometry_;
	SplitQueue queue_; // reads chains only
	bool attached_ = false;
	DescriptorChain chain_;
	BlkRequest request_;
	std::vector<Pending> pending_; // by head
};

} // namespace vduse
