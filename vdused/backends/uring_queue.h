// A queue backend over one file descriptor (regular file or block device)
// driven by an io_uring of its own: reads and writes as readv/writev, flush
// as fdatasync, discard and write zeroes as fallocate. Nothing blocks the
// queue's thread but the final wait when it stops. Under O_DIRECT, a read or
// write whose buffers are not aligned as the file needs goes through an
// aligned bounce buffer of its own. Given vdused's bounce memory, each ring
// registers it as a fixed buffer, and a read or write of one buffer inside
// it goes as READ_FIXED or WRITE_FIXED (no page pinning per request).
#pragma once

#include "backend.h"
#include "base/mapping.h"
#include "base/unique_fd.h"

#include <liburing.h>

namespace vduse
{

class UringQueue final : public QueueBackend
{
public:
	// direct_alignment: what O_DIRECT needs of buffers on fd (0: no O_DIRECT).
	// fixed: memory to register as a fixed buffer, or nullptr.
	static Result<std::unique_ptr<QueueBackend>> create(int fd, bool block_device,
	                                                    uint32_t direct_alignment,
	                                                    uint32_t depth,
	                                                    const BounceMemory *fixed = nullptr);
	UringQueue(int fd, bool block_device, uint32_t direct_alignment, uint32_t depth,
	           const BounceMemory *fixed);
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
	// Page-aligned (mmap), so aligned for any O_DIRECT; unmapped when the
	// request completes (unaligned buffers are rare: only a VM makes them).
	struct Bounce {
		Mapping buffer;
		iovec iov{};
		const BlkRequest *request = nullptr; // for a read: where the data goes
	};

	Status init();
	io_uring_sqe *next_sqe();
	bool aligned(const BlkRequest &request) const;
	// Points the bounce iovec of tag at an aligned copy of the request's data.
	bool bounce(const BlkRequest &request, uint16_t tag);
	// An operation's user data: the request's tag, and for a discard or
	// write zeroes range its index and fallocate mode.
	static constexpr uint64_t tag_mask = 0xffff;
	static constexpr unsigned range_shift = 16;
	static constexpr uint64_t range_mask = 0xffff;
	static constexpr unsigned mode_shift = 32;
	static uint64_t range_data(uint16_t tag, size_t index, int mode);
	// The fallocate mode for a range, given what the file took so far.
	int range_mode(const BlkRequest &request, const BlkRange &range) const;
	// A write zeroes mode the file refused: try the other; false if none is left.
	bool retry_unsupported(uint64_t data);
	void finish_one(uint64_t data, int result, std::vector<Completion> &out);

	// Prepares a read or write of the request's data; false if it cannot.
	bool prep_data(io_uring_sqe *sqe, const BlkRequest &request, uint16_t tag);

	int fd_;
	const BounceMemory *fixed_; // registered as fixed buffer 0, or nullptr
	bool block_device_;
	uint32_t direct_alignment_;
	uint32_t depth_;
	std::vector<Bounce> bounce_;               // per tag
	std::vector<const BlkRequest *> requests_; // per tag, while in flight
	bool zero_range_works_ = true;             // FALLOC_FL_ZERO_RANGE
	bool punch_zeroes_works_ = true;           // FALLOC_FL_PUNCH_HOLE for write zeroes
	bool discard_works_ = true;
	io_uring ring_{};
	bool ring_ready_ = false;
	UniqueFd event_fd_;
	std::vector<uint32_t> pending_; // per tag: operations not yet completed
	std::vector<uint8_t> status_;   // per tag: first error seen
	std::vector<uint64_t> expect_;  // per tag: bytes a read or write must move
	unsigned in_flight_ = 0;        // requests
};

} // namespace vduse
