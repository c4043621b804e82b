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

void CompletionMailbox::post(uint16_t tag, uint8_t status)
{
	bool first = false;
	{
		std::lock_guard lock(mutex_);
		first = posted_.empty();
		posted_.push_back({tag, status});
	}
	// The worker takes everything at once: one wake-up per batch.
	if (first) {
		uint64_t one = 1;
		(void)!::write(event_.get(), &one, sizeof(one));
	}
}

void CompletionMailbox::take(std::vector<Completion> &out)
{
	uint64_t count;
	(void)!::read(event_.get(), &count, sizeof(count));
	std::lock_guard lock(mutex_);
	out.insert(out.end(), posted_.begin(), posted_.end());
	posted_.clear();
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
		mailbox.post(tag, error_.load(std::memory_order_relaxed) == 0 ? VIRTIO_BLK_S_OK
		                                                              : VIRTIO_BLK_S_IOERR);
}

void MailboxQueue::reap(std::vector<Completion> &out, bool wait)
{
	size_t first = out.size();
	mailbox_->take(out);
	while (wait && in_flight_ > 0 && out.size() == first) {
		mailbox_->wait();
		mailbox_->take(out);
	}
	for (size_t i = first; i < out.size(); ++i)
		finished(out[i]);
	in_flight_ -= static_cast<unsigned>(out.size() - first);
}

} // namespace vduse
