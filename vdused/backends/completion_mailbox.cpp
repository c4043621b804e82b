#include "completion_mailbox.h"

#include <cerrno>
#include <poll.h>
#include <sys/eventfd.h>

namespace vduse
{

Result<std::unique_ptr<CompletionMailbox>> CompletionMailbox::create()
{
	UniqueFd event(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (!event)
		return errno_error("cannot create an eventfd");
	return std::make_unique<CompletionMailbox>(std::move(event));
}

void CompletionMailbox::post(uint32_t key, uint8_t status, uint64_t generation)
{
	bool first = false;
	{
		std::lock_guard lock(mutex_);
		first = posted_.empty() && retired_done_.empty();
		if (generation != generation_.load(std::memory_order_relaxed)) {
			retired_done_.push_back(key);
			retired_running_.fetch_sub(1, std::memory_order_acq_rel);
		} else {
			posted_.push_back({key, status});
		}
	}
	// The worker takes everything at once: one wake-up per batch.
	if (first) {
		uint64_t one = 1;
		(void)!::write(event_.get(), &one, sizeof(one));
	}
}

void CompletionMailbox::take(std::vector<Posted> &out, std::vector<uint32_t> &retired)
{
	uint64_t count;
	(void)!::read(event_.get(), &count, sizeof(count));
	std::lock_guard lock(mutex_);
	out.insert(out.end(), posted_.begin(), posted_.end());
	posted_.clear();
	retired.insert(retired.end(), retired_done_.begin(), retired_done_.end());
	retired_done_.clear();
}

void CompletionMailbox::retire(unsigned in_flight)
{
	std::lock_guard lock(mutex_);
	// Posted but not taken: finished, so only their keys come back.
	for (const Posted &p : posted_)
		retired_done_.push_back(p.key);
	in_flight -= static_cast<unsigned>(posted_.size());
	posted_.clear();
	retired_running_.fetch_add(in_flight, std::memory_order_acq_rel);
	generation_.fetch_add(1, std::memory_order_relaxed);
}

void CompletionMailbox::wait() const
{
	pollfd p{event_.get(), POLLIN, 0};
	while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
	}
}

void SplitRequest::operation_done(int error, CompletionMailbox &mailbox)
{
	if (error != 0)
		error_.store(error, std::memory_order_relaxed);
	if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1)
		mailbox.post(key,
		             error_.load(std::memory_order_relaxed) == 0 ? VIRTIO_BLK_S_OK
		                                                         : VIRTIO_BLK_S_IOERR,
		             generation);
}

void MailboxQueue::reap(std::vector<Completion> &out, bool wait)
{
	posted_.clear();
	retired_.clear();
	mailbox_->take(posted_, retired_);
	while (wait && in_flight_ > 0 && posted_.empty()) {
		mailbox_->wait();
		mailbox_->take(posted_, retired_);
	}
	for (uint32_t key : retired_)
		retired_finished(key);
	for (const CompletionMailbox::Posted &p : posted_) {
		Completion c{tag_of(p.key), p.status};
		if (!finished(c))
			continue;
		out.push_back(c);
		--in_flight_;
	}
}

} // namespace vduse
