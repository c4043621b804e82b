// A queue backend over one file descriptor (regular file or block device)
// driven by an io_uring of its own: reads and writes as readv/writev, flush
// as fdatasync, discard and write zeroes as fallocate. Nothing blocks the
// queue's thread but the final wait when it stops.
#pragma once

#include "backend.h"
#include "base/unique_fd.h"

#include <liburing.h>

namespace vduse
{

class UringQueue final : public QueueBackend
{
public:
	static Result<std::unique_ptr<QueueBackend>> create(int fd, bool block_device,
	                                                    uint32_t depth);
	UringQueue(int fd, bool block_device, uint32_t depth);
	~UringQueue() override;
	UringQueue(const UringQueue &) = delete;
	UringQueue &operator=(const UringQueue &) = delete;

	std::optional<uint8_t> submit(const BlkRequest &request, uint16_t tag) override;
	void flush() override;
	int completion_fd() const override { return event_fd_.get(); }
	void reap(std::vector<Completion> &out, bool wait) override;
	unsigned in_flight() const override { return in_flight_; }

private:
	Status init();
	io_uring_sqe *next_sqe();
	void finish_one(uint16_t tag, int result, std::vector<Completion> &out);

	int fd_;
	bool block_device_;
	uint32_t depth_;
	io_uring ring_{};
	bool ring_ready_ = false;
	UniqueFd event_fd_;
	std::vector<uint32_t> pending_; // per tag: operations not yet completed
	std::vector<uint8_t> status_;   // per tag: first error seen
	std::vector<uint64_t> expect_;  // per tag: bytes a read or write must move
	unsigned in_flight_ = 0;        // requests
};

} // namespace vduse
