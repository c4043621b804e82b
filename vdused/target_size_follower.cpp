#include "target_size_follower.h"

#include <cerrno>
#include <spdlog/spdlog.h>

namespace vduse
{

bool TargetSizeFollower::tick()
{
	auto now = std::chrono::steady_clock::now();
	if (pending_ && now >= next_follow_) {
		pending_ = false;
		next_follow_ = now + min_interval;
		follow();
	}
	bool behind = save_record();
	return pending_ || behind;
}

void TargetSizeFollower::follow()
{
	auto remote = server_.remote_size();
	if (!remote) {
		spdlog::error("{}: cannot learn the target's size: {}", spec_.name,
		              remote.error().message);
		return;
	}
	// What the block size allows of it, as at add.
	uint64_t size = whole_blocks(spec_, *remote);
	if (size == server_.size_bytes())
		return;
	if (size == 0) {
		spdlog::error(
		        "{}: the target now has {} bytes, less than a block: the device keeps "
		        "its size",
		        spec_.name, *remote);
		return;
	}
	if (auto done = server_.resize(size); !done) {
		spdlog::error("{}: cannot resize: {}", spec_.name, done.error().message);
		return;
	}
	record_behind_ = true;
}

bool TargetSizeFollower::save_record()
{
	if (!record_behind_)
		return false;
	auto lock = state_.try_lock();
	if (!lock && lock.error().code == EWOULDBLOCK)
		return true;
	record_behind_ = false;
	if (!lock) {
		spdlog::error("{}: the record keeps its old size: {}", spec_.name,
		              lock.error().message);
		return false;
	}
	// Gone: vdusectl del is taking the device away.
	auto record = state_.read(spec_.name);
	if (!record || record->spec.size_bytes == server_.size_bytes())
		return false;
	record->spec.size_bytes = server_.size_bytes();
	if (auto written = state_.write(*record); !written)
		spdlog::error("{}: the record keeps its old size: {}", spec_.name,
		              written.error().message);
	return false;
}

} // namespace vduse
