// Completions that arrive on another thread (a network connection's thread,
// librbd's callback thread), handed to the queue's worker: posted under a
// short lock, announced through an eventfd the worker polls. Completions that
// arrive together wake the worker once.
#pragma once

#include "backend.h"
#include "base/result.h"
#include "base/unique_fd.h"

#include <atomic>
#include <mutex>
#include <vector>

namespace vduse
{

class CompletionMailbox
{
public:
	static Result<std::unique_ptr<CompletionMailbox>> create();
	explicit CompletionMailbox(UniqueFd event) : event_(std::move(event)) {}

	// Any thread.
	void post(uint16_t tag, uint8_t status);
	// The worker: the fd to poll, and what was posted since the last take.
	int fd() const { return event_.get(); }
	void take(std::vector<Completion> &out);
	// Blocks until something is posted (or returns at once if it was).
	void wait() const;

private:
	UniqueFd event_;
	std::mutex mutex_;
	std::vector<Completion> posted_;
};

// A request carried out as several operations (ranges, pieces) that
// complete on other threads: the last to finish posts the request.
class SplitRequest
{
public:
	uint16_t tag = 0;
	// Before the first operation is started.
	void expect(unsigned operations)
	{
		error_.store(0, std::memory_order_relaxed);
		remaining_.store(operations, std::memory_order_release);
	}
	// Any thread; error is 0 or why the operation failed.
	void operation_done(int error, CompletionMailbox &mailbox);

private:
	std::atomic<unsigned> remaining_{0};
	std::atomic<int> error_{0};
};

// A queue whose requests complete on other threads: counts what is in flight
// and reaps from a mailbox. Subclasses start requests and post to mailbox().
class MailboxQueue : public QueueBackend
{
public:
	explicit MailboxQueue(std::unique_ptr<CompletionMailbox> mailbox)
	        : mailbox_(std::move(mailbox))
	{
	}
	int completion_fd() const override { return mailbox_->fd(); }
	void reap(std::vector<Completion> &out, bool wait) override;
	unsigned in_flight() const override { return in_flight_; }

protected:
	CompletionMailbox &mailbox() { return *mailbox_; }
	// Called in the worker for each request reaped, before it is completed
	// (e.g. to copy a read out of a bounce buffer). May change the status.
	virtual void finished(Completion & /*completion*/) {}
	// Counts a request started that will be posted.
	void started() { ++in_flight_; }

private:
	std::unique_ptr<CompletionMailbox> mailbox_;
	unsigned in_flight_ = 0; // the worker's thread only
};

} // namespace vduse
