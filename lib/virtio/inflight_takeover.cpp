#include "virtio/inflight_takeover.h"

namespace vduse
{

Result<QueueTakeover> take_over_queue(SplitQueue &queue, QueueLog &log, StartMode mode)
{
	QueueTakeover takeover;
	queue.set_observer(log ? &log : nullptr);
	if (mode == StartMode::fresh && log)
		log.reset(queue.used_idx());
	if (mode != StartMode::recover || !log) {
		takeover.last_avail = queue.last_avail();
		return takeover;
	}
	auto recovery = log.recover(queue.used_idx(), queue.size());
	if (!recovery)
		return with_context("the in-flight log is corrupt", recovery.error());
	queue.resume_at(recovery->last_avail);
	takeover.last_avail = recovery->last_avail;
	takeover.resubmit = std::move(recovery->heads);
	takeover.fixed_pending = recovery->fixed_pending;
	return takeover;
}

} // namespace vduse
