// A queue backend over one file descriptor (regular file or block device)
// driven by an io_uring of its own: reads and writes as read(v)/write(v),
// flush as fdatasync, discard and write zeroes as fallocate. Nothing blocks
// the queue's thread but the final wait when it stops.
//
// A read or write moves all its bytes or fails: a short transfer (legal on
// any file, common on network and FUSE file systems) is resubmitted for the
// rest, -EAGAIN and -EINTR are retried, a transfer that makes no progress
// is an error, and a read at the end of the file returns zeros (the worker
// has checked the request against the device's size).
//
// Data is staged through an aligned buffer of the queue's own when the
// driver's buffers cannot be used directly: under O_DIRECT when they are not
// aligned as the file needs, or when the kernel cannot pin them (EFAULT:
// VDUSE's bounce pages on kernels that map them VM_IO, for O_DIRECT and for
// file systems that pin even buffered I/O, such as 9p). Given vdused's own
// bounce memory, each ring registers it as a fixed buffer, and a read or
// write of one buffer inside it goes as READ_FIXED or WRITE_FIXED.
#pragma once

#include "backend.h"
#include "base/mapping.h"
#include "failure_log.h"

#include <deque>
#include <liburing.h>
#include <sys/uio.h>

namespace vduse
{

class UringQueue final : public QueueBackend
{
public:
	struct Options {
		int fd = -1;
		bool block_device = false;
		uint32_t direct_alignment = 0; // what O_DIRECT needs of buffers (0: buffered)
		uint32_t depth = 0;
		const BounceMemory *fixed = nullptr; // to register as a fixed buffer
		const Iotlb *memory = nullptr;       // says whether the kernel can pin it
		std::shared_ptr<spdlog::logger> log; // the queue's
	};
	static Result<std::unique_ptr<QueueBackend>> create(Options options);
	explicit UringQueue(Options options);
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
	// A staged request moves through a buffer of at most staging_window
	// bytes (Linux's largest request, 1280 KiB by default, fits), window
	// after window; a larger one (up to seg_max x size_max, 254 MiB) takes
	// several turns. The buffers stay with their tags for the next
	// requests (a new mapping costs a page fault per page at first use),
	// and all of a queue's together map at most staging_budget bytes:
	// idle tags give theirs back when another needs room, and a request
	// that finds none waits for a staged one to finish. So what a driver
	// asks for never sets what vdused holds.
	static constexpr uint64_t staging_window = 2 << 20;
	static constexpr uint64_t staging_budget = 64 << 20;
	// Bytes mapped by the staging buffers now (for tests).
	uint64_t staging_bytes() const { return staging_bytes_; }
	// Retries of a read or write that moved nothing (-EAGAIN, -EINTR)
	// before it fails.
	static constexpr unsigned max_stalls = 64;

private:
	// One request in flight.
	struct Op {
		const BlkRequest *request = nullptr;
		unsigned pending = 0;     // operations not yet completed
		uint8_t status = 0;       // first error seen
		uint64_t expect = 0;      // bytes a read or write must move
		uint64_t done = 0;        // bytes moved so far
		unsigned stalls = 0;      // retries in a row without progress
		bool fixed = false;       // READ_FIXED / WRITE_FIXED
		bool staged = false;      // through `staging`, not the driver's buffers
		uint64_t window_from = 0; // the request's bytes `staging` holds now
		uint64_t window_len = 0;
		Mapping staging;         // page-aligned, so aligned for any O_DIRECT
		std::vector<iovec> rest; // the driver's buffers from `done` on
	};

	Status init();
	io_uring_sqe *next_sqe();
	bool aligned(const BlkRequest &request) const;
	bool must_stage(const BlkRequest &request) const;
	// Moves what a read or write has left (from `done`) to a staging
	// buffer, its first window (a write's data copied in).
	enum class Staged { yes, no_room, failed };
	Staged stage(Op &op);
	// Unmaps idle tags' buffers until bytes more fit the budget.
	bool make_room(uint64_t bytes);
	void release_staging(Op &op);
	// Starts the requests that wait for staging room, in order.
	void start_waiting(std::vector<Completion> &out);
	void complete(uint16_t tag, std::vector<Completion> &out);
	// Prepares the read or write of what op has left to move.
	void prep_transfer(io_uring_sqe *sqe, uint16_t tag);
	bool resubmit(uint16_t tag);
	// A read or write's completion; false once the request is finished.
	bool transfer_continues(uint16_t tag, int result);
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
	void fail(Op &op, int err, uint64_t offset, uint64_t length);
	void finish_one(uint64_t data, int result, std::vector<Completion> &out);

	Options opt_;
	std::vector<Op> ops_; // per tag
	FailureLog failures_;
	bool stage_all_ = false;         // the kernel refused to pin the driver's buffers
	bool zero_range_works_ = true;   // FALLOC_FL_ZERO_RANGE
	bool punch_zeroes_works_ = true; // FALLOC_FL_PUNCH_HOLE for write zeroes
	bool discard_works_ = true;
	bool resubmitted_ = false;     // reap() queued operations to submit
	uint64_t staging_bytes_ = 0;   // mapped by the ops' staging buffers
	std::deque<uint16_t> waiting_; // tags waiting for staging room
	io_uring ring_{};
	bool ring_ready_ = false;
	UniqueFd event_fd_;
	unsigned in_flight_ = 0; // requests
};

} // namespace vduse
