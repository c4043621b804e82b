// Completions that arrive on another thread (a network connection's thread,
// librbd's callback thread), handed to the queue's worker: posted under a
// short lock, announced through an eventfd the worker polls. Completions that
// arrive together wake the worker once.
//
// A reset can leave requests running in a library that cannot cancel them
// (librbd): the mailbox then retires their generation, and what they post
// later is not a completion but only their key coming back, so that the
// queue can reuse what they held.
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

	struct Posted {
		uint32_t key; // what the queue knows the request by
		uint8_t status;
	};
	// Any thread; generation is the one current when the request started.
	void post(uint32_t key, uint8_t status, uint64_t generation);
	// The worker: the fd to poll, and what was posted since the last take;
	// retired gets the keys of retired requests that finished.
	int fd() const { return event_.get(); }
	void take(std::vector<Posted> &out, std::vector<uint32_t> &retired);
	// Blocks until something is posted (or returns at once if it was).
	void wait() const;

	// The worker: requests start in this generation.
	uint64_t generation() const { return generation_.load(std::memory_order_relaxed); }
	// The worker: the in_flight requests started so far (posted or not) are
	// void; the ones not finished yet are counted in retired_running().
	void retire(unsigned in_flight);
	// Any thread: retired requests that have not finished.
	unsigned retired_running() const
	{
		return retired_running_.load(std::memory_order_acquire);
	}

private:
	UniqueFd event_;
	std::mutex mutex_;
	std::vector<Posted> posted_;
	std::vector<uint32_t> retired_done_;
	std::atomic<uint64_t> generation_{0}; // written under mutex_
	std::atomic<unsigned> retired_running_{0};
};

// A request carried out as several operations (ranges, pieces) that
// complete on other threads: the last to finish posts the request.
class SplitRequest
{
public:
	uint32_t key = 0;        // posted as CompletionMailbox::Posted::key
	uint64_t generation = 0; // the mailbox's when it started
	// Before the first operation is started.
	void expect(unsigned operations, uint64_t current_generation)
	{
		generation = current_generation;
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
	unsigned detached() const override { return mailbox_->retired_running(); }

protected:
	CompletionMailbox &mailbox() { return *mailbox_; }
	// The virtio tag of a request posted with key (the key itself unless
	// the queue keys its requests otherwise); the key is free again.
	virtual uint16_t tag_of(uint32_t key) { return static_cast<uint16_t>(key); }
	// A retired request finished: what it held is free again.
	virtual void retired_finished(uint32_t /*key*/) {}
	// Called in the worker for each request reaped, before it is completed
	// (e.g. to copy a read out of a bounce buffer). May change the status.
	// False: the request goes on (it started its next part) and stays in
	// flight.
	virtual bool finished(Completion & /*completion*/) { return true; }
	// Counts a request started that will be posted.
	void started() { ++in_flight_; }
	// Every request in flight is void from now on (see CompletionMailbox).
	void retire_in_flight()
	{
		mailbox_->retire(in_flight_);
		in_flight_ = 0;
	}

private:
	std::unique_ptr<CompletionMailbox> mailbox_;
	unsigned in_flight_ = 0;                        // the worker's thread only
	std::vector<CompletionMailbox::Posted> posted_; // reused
	std::vector<uint32_t> retired_;                 // reused
};

} // namespace vduse
