#include "failure_log.h"

#include <cstring>

namespace vduse
{

void FailureLog::failed(const std::string &what, int err, uint64_t offset, uint64_t length,
                        Clock::time_point now)
{
	Kind &kind = kinds_[{what, err}];
	++kind.count;
	if (kind.count == 1) {
		log_->error("{} of {} bytes at offset {} failed: {} (errno {}); later failures of "
		            "this kind are counted, at most one line every {} s",
		            what, length, offset, std::strerror(err), err, interval.count());
	} else if (now - kind.last >= interval) {
		log_->error("{} more {} failures: {} (errno {}), the last of {} bytes at offset {}",
		            kind.count - kind.logged, what, std::strerror(err), err, length,
		            offset);
	} else {
		return;
	}
	kind.logged = kind.count;
	kind.last = now;
}

uint64_t FailureLog::count(const std::string &what, int err) const
{
	auto it = kinds_.find({what, err});
	return it == kinds_.end() ? 0 : it->second.count;
}

} // namespace vduse
