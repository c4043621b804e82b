#include "uring_queue.h"

#include "virtio/iovec.h"

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <linux/falloc.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>

namespace vduse
{

namespace
{

const char *operation_name(uint32_t type)
{
	switch (type) {
	case VIRTIO_BLK_T_IN:
		return "read";
	case VIRTIO_BLK_T_OUT:
		return "write";
	case VIRTIO_BLK_T_FLUSH:
		return "flush";
	case VIRTIO_BLK_T_DISCARD:
		return "discard";
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return "write zeroes";
	default:
		return "request";
	}
}

// Options whose log is the daemon's when no queue logger was given.
UringQueue::Options with_log(UringQueue::Options options)
{
	if (!options.log)
		options.log = spdlog::default_logger();
	return options;
}

} // namespace

Result<std::unique_ptr<QueueBackend>> UringQueue::create(Options options)
{
	auto queue = std::make_unique<UringQueue>(std::move(options));
	if (auto st = queue->init(); !st)
		return st.error();
	return std::unique_ptr<QueueBackend>(std::move(queue));
}

UringQueue::UringQueue(Options options)
        : opt_(with_log(std::move(options))), ops_(opt_.depth), failures_(opt_.log)
{
}

uint32_t UringQueue::completion_entries(uint32_t depth)
{
	return depth * std::max<uint32_t>(1, blk_max_discard_seg);
}

Status UringQueue::init()
{
	// Submissions: room for a full queue of reads and writes; next_sqe()
	// submits early for requests with many discard ranges. Completions:
	// room for every operation that can be in flight, so none waits in the
	// kernel's overflow list (reap() flushes it if one ever does). Deep
	// queues ask for more than io_uring allows (IORING_MAX_CQ_ENTRIES,
	// io_uring/io_uring.c): CLAMP takes the most it allows instead, and the
	// overflow list holds the rest.
	io_uring_params params{};
	params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
	params.cq_entries = completion_entries(opt_.depth);
	unsigned entries = std::min<uint32_t>(4096, opt_.depth * 2);
	if (int err = io_uring_queue_init_params(entries, &ring_, &params); err < 0)
		return system_error(-err, "cannot create an io_uring");
	ring_ready_ = true;
	event_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (!event_fd_)
		return errno_error("cannot create an eventfd");
	if (int err = io_uring_register_eventfd(&ring_, event_fd_.get()); err < 0)
		return system_error(-err, "cannot register an eventfd with io_uring");
	if (opt_.fixed) {
		iovec whole{opt_.fixed->data(), opt_.fixed->size()};
		if (int err = io_uring_register_buffers(&ring_, &whole, 1); err < 0) {
			spdlog::warn(
			        "cannot register the bounce memory as an io_uring fixed buffer: "
			        "{}; reads and writes go without it",
			        std::strerror(-err));
			opt_.fixed = nullptr;
		}
	}
	return {};
}

UringQueue::~UringQueue()
{
	if (!ring_ready_)
		return;
	std::vector<Completion> ignored;
	while (in_flight_ > 0)
		reap(ignored, true);
	io_uring_queue_exit(&ring_);
}

io_uring_sqe *UringQueue::next_sqe()
{
	io_uring_sqe *sqe = io_uring_get_sqe(&ring_);
	if (!sqe) {
		io_uring_submit(&ring_);
		sqe = io_uring_get_sqe(&ring_);
	}
	return sqe;
}

bool UringQueue::aligned(const BlkRequest &req) const
{
	if (opt_.direct_alignment <= 1)
		return true;
	for (const iovec &v : req.data) {
		if (reinterpret_cast<uintptr_t>(v.iov_base) % opt_.direct_alignment != 0 ||
		    v.iov_len % opt_.direct_alignment != 0)
			return false;
	}
	return true;
}

bool UringQueue::must_stage(const BlkRequest &req) const
{
	if (stage_all_ || !aligned(req))
		return true;
	// O_DIRECT always pins; buffered I/O pins only on some file systems,
	// which say so with EFAULT (then stage_all_).
	return opt_.direct_alignment > 0 && opt_.memory && !opt_.memory->pinnable();
}

UringQueue::Staged UringQueue::stage(Op &op)
{
	const BlkRequest &req = *op.request;
	uint64_t window = std::min(staging_window, op.expect - op.done);
	// In steps of 64 KiB, so that a buffer serves the next requests too.
	uint64_t size = (window + 0xffff) & ~uint64_t{0xffff};
	if (op.staging.size() < size) {
		release_staging(op);
		if (!make_room(size))
			return Staged::no_room;
		void *addr = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
		                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (addr == MAP_FAILED)
			return Staged::failed;
		op.staging = Mapping(addr, size);
		staging_bytes_ += size;
	}
	op.window_from = op.done;
	op.window_len = window;
	if (req.type == VIRTIO_BLK_T_OUT)
		iov_copy_out(req.data, op.done, op.staging.data(), window);
	op.staged = true;
	return Staged::yes;
}

bool UringQueue::make_room(uint64_t bytes)
{
	for (Op &idle : ops_) {
		if (staging_bytes_ + bytes <= staging_budget)
			return true;
		if (!idle.staged && idle.staging.size() > 0)
			release_staging(idle);
	}
	return staging_bytes_ + bytes <= staging_budget;
}

void UringQueue::release_staging(Op &op)
{
	staging_bytes_ -= op.staging.size();
	op.staging = Mapping();
}

void UringQueue::start_waiting(std::vector<Completion> &out)
{
	while (!waiting_.empty()) {
		uint16_t tag = waiting_.front();
		Op &op = ops_[tag];
		Staged staged = stage(op);
		if (staged == Staged::no_room)
			return;
		waiting_.pop_front();
		if (staged == Staged::yes && resubmit(tag))
			continue;
		fail(op, ENOMEM, op.request->offset + op.done, op.expect - op.done);
		complete(tag, out);
	}
}

void UringQueue::prep_transfer(io_uring_sqe *sqe, uint16_t tag)
{
	Op &op = ops_[tag];
	const BlkRequest &req = *op.request;
	bool read = req.type == VIRTIO_BLK_T_IN;
	auto offset = req.offset + op.done;
	auto left = static_cast<unsigned>(op.expect - op.done);
	if (op.staged) {
		// What is left of the window.
		left = static_cast<unsigned>(op.window_from + op.window_len - op.done);
	}
	if (op.staged || op.fixed) {
		uint8_t *at = op.staged ? static_cast<uint8_t *>(op.staging.data()) +
		                                  (op.done - op.window_from)
		                        : static_cast<uint8_t *>(req.data[0].iov_base) + op.done;
		if (op.staged && read)
			io_uring_prep_read(sqe, opt_.fd, at, left, offset);
		else if (op.staged)
			io_uring_prep_write(sqe, opt_.fd, at, left, offset);
		else if (read)
			io_uring_prep_read_fixed(sqe, opt_.fd, at, left, offset, 0);
		else
			io_uring_prep_write_fixed(sqe, opt_.fd, at, left, offset, 0);
		return;
	}
	const std::vector<iovec> *iov = &req.data;
	if (op.done > 0) {
		// The kernel reads the iovec array when the operation is submitted:
		// rest lives until then (the request is not resubmitted before it
		// completes).
		op.rest.clear();
		iov_slice(req.data, op.done, 0, op.rest);
		iov = &op.rest;
	}
	auto count = static_cast<unsigned>(iov->size());
	if (read)
		io_uring_prep_readv(sqe, opt_.fd, iov->data(), count, offset);
	else
		io_uring_prep_writev(sqe, opt_.fd, iov->data(), count, offset);
}

bool UringQueue::resubmit(uint16_t tag)
{
	io_uring_sqe *sqe = next_sqe();
	if (!sqe)
		return false;
	io_uring_sqe_set_data64(sqe, tag);
	prep_transfer(sqe, tag);
	resubmitted_ = true;
	return true;
}

void UringQueue::fail(Op &op, int err, uint64_t offset, uint64_t length)
{
	if (op.status == VIRTIO_BLK_S_OK)
		op.status = err == EOPNOTSUPP ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_IOERR;
	failures_.failed(operation_name(op.request ? op.request->type : 0), err, offset, length);
}

bool UringQueue::transfer_continues(uint16_t tag, int result)
{
	Op &op = ops_[tag];
	const BlkRequest &req = *op.request;
	uint64_t offset = req.offset + op.done;
	uint64_t left = op.expect - op.done;
	if (result == -EAGAIN || result == -EINTR) {
		if (++op.stalls <= max_stalls && resubmit(tag))
			return true;
		fail(op, -result, offset, left);
		return false;
	}
	if (result == -EFAULT && !op.staged && !op.fixed) {
		// The kernel could not pin the driver's buffers (see the header).
		if (!std::exchange(stage_all_, true))
			opt_.log->info(
			        "the kernel cannot pin the driver's buffers for I/O on this file "
			        "(EFAULT): data is staged through vdused's memory from now on");
		Staged staged = stage(op);
		if (staged == Staged::no_room) {
			// Resubmitted by start_waiting; pending stays as it is.
			waiting_.push_back(tag);
			return true;
		}
		if (staged == Staged::yes && resubmit(tag))
			return true;
		fail(op, ENOMEM, offset, left);
		return false;
	}
	if (result < 0) {
		fail(op, -result, offset, left);
		return false;
	}
	if (result == 0) {
		if (req.type != VIRTIO_BLK_T_IN) {
			fail(op, EIO, offset, left); // a write that moves nothing never will
			return false;
		}
		// The end of the file, inside the device: zeros, as a loop device reads.
		uint64_t zero_from = op.done;
		if (op.staged) {
			uint64_t window_end = op.window_from + op.window_len;
			std::memset(static_cast<uint8_t *>(op.staging.data()) +
			                    (op.done - op.window_from),
			            0, window_end - op.done);
			zero_from = window_end; // the window itself is copied at the end
		}
		std::vector<iovec> tail;
		iov_slice(req.data, zero_from, 0, tail);
		iov_zero(tail);
		op.done = op.expect;
		return false;
	}
	auto moved = static_cast<uint64_t>(result);
	if (moved > left) {
		fail(op, EIO, offset, left);
		return false;
	}
	op.done += moved;
	op.stalls = 0;
	if (op.done == op.expect)
		return false;
	if (op.staged && op.done == op.window_from + op.window_len) {
		// The window is through: a read's bytes go to the driver, and the
		// next window comes in (a write's data copied in).
		if (req.type == VIRTIO_BLK_T_IN)
			iov_copy_in(req.data, op.window_from, op.staging.data(), op.window_len);
		op.window_from = op.done;
		op.window_len = std::min(staging_window, op.expect - op.done);
		if (req.type == VIRTIO_BLK_T_OUT)
			iov_copy_out(req.data, op.done, op.staging.data(), op.window_len);
	}
	if (resubmit(tag))
		return true;
	fail(op, EIO, offset + moved, left - moved);
	return false;
}

int UringQueue::range_mode(const BlkRequest &req, const BlkRange &range) const
{
	if (req.type == VIRTIO_BLK_T_DISCARD)
		// On a block device a plain punch hole means "zero out"
		// (block/fops.c, blkdev_fallocate); NO_HIDE_STALE makes it a discard.
		return FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE |
		       (opt_.block_device ? FALLOC_FL_NO_HIDE_STALE : 0);
	bool punch = range.unmap ? punch_zeroes_works_ : !zero_range_works_;
	return FALLOC_FL_KEEP_SIZE | (punch ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE);
}

bool UringQueue::retry_unsupported(uint64_t data)
{
	auto tag = static_cast<uint16_t>(data & tag_mask);
	size_t index = (data >> range_shift) & range_mask;
	auto mode = static_cast<int>((data >> mode_shift) & 0xff);
	const BlkRequest *req = ops_[tag].request;
	if (!req || index >= req->ranges.size() || req->type != VIRTIO_BLK_T_WRITE_ZEROES)
		return false;
	// Some file systems (tmpfs) punch holes but cannot zero a range in
	// place, a loop device may do neither; a hole reads as zeros, and
	// ZERO_RANGE on a block device falls back to writing zeros
	// (block/blk-lib.c, blkdev_issue_zeroout). From now on, go straight to
	// what works.
	if (mode & FALLOC_FL_ZERO_RANGE) {
		zero_range_works_ = false;
		if (opt_.block_device || !punch_zeroes_works_)
			return false;
	} else {
		punch_zeroes_works_ = false;
		if (!zero_range_works_)
			return false;
	}
	const BlkRange &range = req->ranges[index];
	io_uring_sqe *sqe = next_sqe();
	if (!sqe)
		return false;
	int next = range_mode(*req, range);
	io_uring_sqe_set_data64(sqe, range_data(tag, index, next));
	io_uring_prep_fallocate(sqe, opt_.fd, next, static_cast<off_t>(range.offset),
	                        static_cast<off_t>(range.length));
	resubmitted_ = true;
	return true;
}

uint64_t UringQueue::range_data(uint16_t tag, size_t index, int mode)
{
	return tag | (uint64_t{index} << range_shift) |
	       (static_cast<uint64_t>(mode & 0xff) << mode_shift);
}

std::optional<uint8_t> UringQueue::submit(const BlkRequest &req, uint16_t tag)
{
	if (tag >= opt_.depth)
		return VIRTIO_BLK_S_IOERR;
	Op &op = ops_[tag];
	op.request = &req;
	op.status = VIRTIO_BLK_S_OK;
	op.pending = 0;
	op.expect = 0;
	op.done = 0;
	op.stalls = 0;
	op.staged = false;
	op.fixed = false;
	auto add = [&](uint64_t data = 0) -> io_uring_sqe * {
		io_uring_sqe *sqe = next_sqe();
		if (sqe) {
			io_uring_sqe_set_data64(sqe, data | tag);
			++op.pending;
		}
		return sqe;
	};
	io_uring_sqe *sqe = nullptr;
	switch (req.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (req.data_len == 0)
			return VIRTIO_BLK_S_OK;
		op.expect = req.data_len;
		if (must_stage(req)) {
			// Behind the others that wait, or until there is room.
			Staged staged = waiting_.empty() ? stage(op) : Staged::no_room;
			if (staged == Staged::failed) {
				fail(op, ENOMEM, req.offset, req.data_len);
				return op.status;
			}
			if (staged == Staged::no_room) {
				op.pending = 1; // resubmitted by start_waiting
				waiting_.push_back(tag);
				++in_flight_;
				return std::nullopt;
			}
		} else if (opt_.fixed && req.data.size() == 1 &&
		           opt_.fixed->contains(req.data[0].iov_base, req.data[0].iov_len)) {
			// The kernel maps a request's segments one by one into the
			// bounce region, not side by side: only a one-segment request
			// is one fixed read or write.
			op.fixed = true;
		}
		if (!(sqe = add()))
			return VIRTIO_BLK_S_IOERR;
		prep_transfer(sqe, tag);
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (!(sqe = add()))
			return VIRTIO_BLK_S_IOERR;
		io_uring_prep_fsync(sqe, opt_.fd, IORING_FSYNC_DATASYNC);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		// Discard is a hint (virtio 1.2, 5.2.6.2): where the backend
		// cannot, it is done at once (as QEMU's file-posix does).
		if (req.type == VIRTIO_BLK_T_DISCARD && !discard_works_)
			return VIRTIO_BLK_S_OK;
		for (size_t i = 0; i < req.ranges.size(); ++i) {
			int mode = range_mode(req, req.ranges[i]);
			if (!(sqe = add(range_data(0, i, mode)))) {
				// Ranges already queued still complete; the request fails.
				op.status = VIRTIO_BLK_S_IOERR;
				break;
			}
			io_uring_prep_fallocate(sqe, opt_.fd, mode,
			                        static_cast<off_t>(req.ranges[i].offset),
			                        static_cast<off_t>(req.ranges[i].length));
		}
		break;
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
	if (op.pending == 0)
		return op.status;
	++in_flight_;
	return std::nullopt;
}

void UringQueue::flush()
{
	io_uring_submit(&ring_);
}

void UringQueue::finish_one(uint64_t data, int result, std::vector<Completion> &out)
{
	auto tag = static_cast<uint16_t>(data & tag_mask);
	if (tag >= opt_.depth || ops_[tag].pending == 0 || !ops_[tag].request)
		return;
	Op &op = ops_[tag];
	const BlkRequest &req = *op.request;
	if (req.type == VIRTIO_BLK_T_IN || req.type == VIRTIO_BLK_T_OUT) {
		if (op.status == VIRTIO_BLK_S_OK && transfer_continues(tag, result))
			return;
	} else {
		if (result == -EOPNOTSUPP && req.type == VIRTIO_BLK_T_DISCARD) {
			discard_works_ = false;
			result = 0;
		}
		if (result == -EOPNOTSUPP && retry_unsupported(data))
			return;
		if (result < 0) {
			size_t index = (data >> range_shift) & range_mask;
			bool ranged = (data >> mode_shift) != 0 && index < req.ranges.size();
			fail(op, -result, ranged ? req.ranges[index].offset : 0,
			     ranged ? req.ranges[index].length : 0);
		}
	}
	if (--op.pending > 0)
		return;
	bool staged = op.staged;
	if (staged) {
		// The windows before this one went to the driver as they were
		// through (and the bytes before the first, straight).
		if (req.type == VIRTIO_BLK_T_IN && op.status == VIRTIO_BLK_S_OK)
			iov_copy_in(req.data, op.window_from, op.staging.data(), op.window_len);
		op.staged = false;
	}
	complete(tag, out);
	if (staged)
		start_waiting(out);
}

void UringQueue::complete(uint16_t tag, std::vector<Completion> &out)
{
	Op &op = ops_[tag];
	op.request = nullptr;
	--in_flight_;
	out.push_back({tag, op.status});
}

void UringQueue::reap(std::vector<Completion> &out, bool wait)
{
	// Only clears the eventfd: a failed read (nothing signalled) changes nothing.
	uint64_t count;
	[[maybe_unused]] ssize_t cleared = ::read(event_fd_.get(), &count, sizeof(count));
	if (wait && in_flight_ > 0)
		io_uring_submit_and_wait(&ring_, 1);
	for (;;) {
		io_uring_cqe *cqe;
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&ring_, head, cqe)
		{
			finish_one(io_uring_cqe_get_data64(cqe), cqe->res, out);
			++seen;
		}
		io_uring_cq_advance(&ring_, seen);
		// Completions the kernel could not post wait in its overflow list
		// until we enter it: no other wake-up would come for them.
		if (!io_uring_cq_has_overflow(&ring_))
			break;
		io_uring_get_events(&ring_);
	}
	// What finish_one() queued again (the rest of a short transfer, a
	// retry) goes now: the caller may wait for completions next.
	if (std::exchange(resubmitted_, false))
		io_uring_submit(&ring_);
}

} // namespace vduse
