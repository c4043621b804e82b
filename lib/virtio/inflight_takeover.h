// How a queue starts serving, and what it owes the driver when it takes over
// from a process that died (inflight_log.h has the protocol).
#pragma once

#include "base/result.h"
#include "virtio/inflight_log.h"
#include "virtio/split_queue.h"

#include <cstdint>
#include <vector>

namespace vduse
{

enum class StartMode {
	fresh,   // the driver just set DRIVER_OK: nothing was taken yet
	resume,  // this process stopped the queue (IOTLB update): continue from our index
	recover, // a dead process served it: take over from the in-flight log
};

struct QueueTakeover {
	uint16_t last_avail = 0;        // the next avail index to take
	std::vector<uint16_t> resubmit; // heads owed a completion, oldest first
	bool fixed_pending = false;     // a completion was published but not logged
};

// Connects QUEUE, just attached, to LOG (which must outlive its use) and
// works out where it starts: fresh resets the log to the ring's used index,
// resume changes nothing, recover moves the queue to the index the log
// gives and returns the requests to resubmit. A log that cannot describe
// this ring is an error: serving from it could complete the wrong requests.
Result<QueueTakeover> take_over_queue(SplitQueue &queue, QueueLog &log, StartMode mode);

} // namespace vduse
