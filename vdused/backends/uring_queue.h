// A queue backend over one file descriptor (regular file or block device)
// driven by an io_uring of its own: reads and writes as readv/writev, flush
// as fdatasync, discard and write zeroes as fallocate. Nothing blocks the
// queue's thread but the final wait when it stops. Under O_DIRECT, a read or
// write whose buffers are not aligned as the file needs goes through an
// aligned bounce buffer of its own.
#pragma once

#include "backend.h"
#include "base/unique_fd.h"

#include <cstdlib>
#include <liburing.h>

namespace vduse
{

class UringQueue final : public QueueBackend
{
public:
	// direct_alignment: what O_DIRECT needs of buffers on fd (0: no O_DIRECT).
	static Result<std::unique_ptr<QueueBackend>> create(int fd, bool block_device,
	                                                    uint32_t direct_alignment,
	                                                    uint32_t depth);
	UringQueue(int fd, bool block_device, uint32_t direct_alignment, uint32_t depth);
	~UringQueue() override;
	UringQueue(const UringQueue &) = delete;
	UringQueue &operator=(const UringQueue &) = delete;

	std::optional<uint8_t> submit(const BlkRequest &request, uint16_t tag) override;
	void flush() override;
	int completion_fd() const override { return event_fd_.get(); }
	void reap(std::vector<Completion> &out, bool wait) override;
	unsigned in_flight() const override { return in_flight_; }

	// Completion-queue entries for a ring serving depth requests: enough
	// for every operation of every request in flight.
	static uint32_t completion_entries(uint32_t depth);

private:
	struct FreeDeleter {
		void operator()(void *p) const { std::free(p); }
	};
	struct Bounce {
		std::unique_ptr<uint8_t, FreeDeleter> buffer;
		iovec iov{};
		const BlkRequest *request = nullptr; // for a read: where the data goes
	};

	Status init();
	io_uring_sqe *next_sqe();
	bool aligned(const BlkRequest &request) const;
	// Points the bounce iovec of tag at an aligned copy of the request's data.
	bool bounce(const BlkRequest &request, uint16_t tag);
	void finish_one(uint16_t tag, int result, std::vector<Completion> &out);

	int fd_;
	bool block_device_;
	uint32_t direct_alignment_;
	uint32_t depth_;
	std::vector<Bounce> bounce_; // per tag
	io_uring ring_{};
	bool ring_ready_ = false;
	UniqueFd event_fd_;
	std::vector<uint32_t> pending_; // per tag: operations not yet completed
	std::vector<uint8_t> status_;   // per tag: first error seen
	std::vector<uint64_t> expect_;  // per tag: bytes a read or write must move
	unsigned in_flight_ = 0;        // requests
};

} // namespace vduse
