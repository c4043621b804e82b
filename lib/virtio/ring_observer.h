// What a split queue reports about each request, in ring order, to whoever
// must remember it across a crash (the in-flight log, virtio/inflight_log.h).
#pragma once

#include <cstdint>

namespace vduse
{

class RingObserver
{
public:
	virtual ~RingObserver() = default;
	// Before the chain at HEAD is read: the request is now ours.
	virtual void taken(uint16_t head) = 0;
	// Before the used index that returns HEAD is published.
	virtual void completing(uint16_t head) = 0;
	// After it was published: the ring's used index is now USED_IDX.
	virtual void completed(uint16_t head, uint16_t used_idx) = 0;

protected:
	RingObserver() = default;
	RingObserver(const RingObserver &) = default;
	RingObserver &operator=(const RingObserver &) = default;
};

} // namespace vduse
