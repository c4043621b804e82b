#include "uring_queue.h"

#include "virtio/iovec.h"

#include <cstring>
#include <fcntl.h>
#include <linux/falloc.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>

namespace vduse
{

Result<std::unique_ptr<QueueBackend>> UringQueue::create(int fd, bool block_device,
                                                         uint32_t direct_alignment, uint32_t depth,
                                                         const BounceMemory *fixed)
{
	auto queue = std::make_unique<UringQueue>(fd, block_device, direct_alignment, depth, fixed);
	if (auto st = queue->init(); !st)
		return st.error();
	return std::unique_ptr<QueueBackend>(std::move(queue));
}

UringQueue::UringQueue(int fd, bool block_device, uint32_t direct_alignment, uint32_t depth,
                       const BounceMemory *fixed)
        : fd_(fd), fixed_(fixed), block_device_(block_device), direct_alignment_(direct_alignment),
          depth_(depth), bounce_(depth), requests_(depth), pending_(depth), status_(depth),
          expect_(depth)
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
	// kernel's overflow list (reap() flushes it if one ever does).
	io_uring_params params{};
	params.flags = IORING_SETUP_CQSIZE;
	params.cq_entries = completion_entries(depth_);
	unsigned entries = std::min<uint32_t>(4096, depth_ * 2);
	if (int err = io_uring_queue_init_params(entries, &ring_, &params); err < 0)
		return system_error(-err, "cannot create an io_uring");
	ring_ready_ = true;
	event_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (!event_fd_)
		return errno_error("cannot create an eventfd");
	if (int err = io_uring_register_eventfd(&ring_, event_fd_.get()); err < 0)
		return system_error(-err, "cannot register an eventfd with io_uring");
	if (fixed_) {
		iovec whole{fixed_->data(), fixed_->size()};
		if (int err = io_uring_register_buffers(&ring_, &whole, 1); err < 0) {
			spdlog::warn(
			        "cannot register the bounce memory as an io_uring fixed buffer: "
			        "{}; reads and writes go without it",
			        std::strerror(-err));
			fixed_ = nullptr;
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
	if (direct_alignment_ <= 1)
		return true;
	for (const iovec &v : req.data) {
		if (reinterpret_cast<uintptr_t>(v.iov_base) % direct_alignment_ != 0 ||
		    v.iov_len % direct_alignment_ != 0)
			return false;
	}
	return true;
}

bool UringQueue::bounce(const BlkRequest &req, uint16_t tag)
{
	Bounce &b = bounce_[tag];
	void *addr = ::mmap(nullptr, req.data_len, PROT_READ | PROT_WRITE,
	                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (addr == MAP_FAILED)
		return false;
	b.buffer = Mapping(addr, req.data_len);
	auto *data = static_cast<uint8_t *>(addr);
	b.iov = {data, req.data_len};
	b.request = nullptr;
	if (req.type == VIRTIO_BLK_T_OUT)
		iov_copy_out(req.data, 0, data, req.data_len);
	else
		b.request = &req;
	return true;
}

bool UringQueue::prep_data(io_uring_sqe *sqe, const BlkRequest &req, uint16_t tag)
{
	bool read = req.type == VIRTIO_BLK_T_IN;
	const iovec *iov = req.data.data();
	auto count = static_cast<unsigned>(req.data.size());
	if (!aligned(req)) {
		if (!bounce(req, tag))
			return false;
		iov = &bounce_[tag].iov;
		count = 1;
	} else if (fixed_ && count == 1 && fixed_->contains(iov->iov_base, iov->iov_len)) {
		// The kernel maps a request's segments one by one into the bounce
		// region, not side by side: only a one-segment request is one
		// fixed read or write.
		if (read)
			io_uring_prep_read_fixed(sqe, fd_, iov->iov_base,
			                         static_cast<unsigned>(iov->iov_len), req.offset,
			                         0);
		else
			io_uring_prep_write_fixed(sqe, fd_, iov->iov_base,
			                          static_cast<unsigned>(iov->iov_len), req.offset,
			                          0);
		return true;
	}
	if (read)
		io_uring_prep_readv(sqe, fd_, iov, count, req.offset);
	else
		io_uring_prep_writev(sqe, fd_, iov, count, req.offset);
	return true;
}

int UringQueue::range_mode(const BlkRequest &req, const BlkRange &range) const
{
	if (req.type == VIRTIO_BLK_T_DISCARD)
		// On a block device a plain punch hole means "zero out"
		// (block/fops.c, blkdev_fallocate); NO_HIDE_STALE makes it a discard.
		return FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE |
		       (block_device_ ? FALLOC_FL_NO_HIDE_STALE : 0);
	bool punch = range.unmap ? punch_zeroes_works_ : !zero_range_works_;
	return FALLOC_FL_KEEP_SIZE | (punch ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE);
}

bool UringQueue::retry_unsupported(uint64_t data)
{
	auto tag = static_cast<uint16_t>(data & tag_mask);
	size_t index = (data >> range_shift) & range_mask;
	auto mode = static_cast<int>((data >> mode_shift) & 0xff);
	const BlkRequest *req = requests_[tag];
	if (!req || index >= req->ranges.size() || req->type != VIRTIO_BLK_T_WRITE_ZEROES)
		return false;
	// Some file systems (tmpfs) punch holes but cannot zero a range in
	// place, a loop device may do neither; a hole reads as zeros, and
	// ZERO_RANGE on a block device falls back to writing zeros
	// (block/blk-lib.c, blkdev_issue_zeroout). From now on, go straight to
	// what works.
	if (mode & FALLOC_FL_ZERO_RANGE) {
		zero_range_works_ = false;
		if (block_device_ || !punch_zeroes_works_)
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
	io_uring_prep_fallocate(sqe, fd_, next, static_cast<off_t>(range.offset),
	                        static_cast<off_t>(range.length));
	io_uring_submit(&ring_);
	return true;
}

uint64_t UringQueue::range_data(uint16_t tag, size_t index, int mode)
{
	return tag | (uint64_t{index} << range_shift) |
	       (static_cast<uint64_t>(mode & 0xff) << mode_shift);
}

std::optional<uint8_t> UringQueue::submit(const BlkRequest &req, uint16_t tag)
{
	if (tag >= depth_)
		return VIRTIO_BLK_S_IOERR;
	status_[tag] = VIRTIO_BLK_S_OK;
	expect_[tag] = 0;
	pending_[tag] = 0;
	requests_[tag] = &req;
	auto add = [&](uint64_t data = 0) -> io_uring_sqe * {
		io_uring_sqe *sqe = next_sqe();
		if (sqe) {
			io_uring_sqe_set_data64(sqe, data | tag);
			++pending_[tag];
		}
		return sqe;
	};
	io_uring_sqe *sqe = nullptr;
	switch (req.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (!(sqe = add()))
			return VIRTIO_BLK_S_IOERR;
		expect_[tag] = req.data_len;
		if (!prep_data(sqe, req, tag)) {
			io_uring_prep_nop(sqe);
			status_[tag] = VIRTIO_BLK_S_IOERR;
		}
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (!(sqe = add()))
			return VIRTIO_BLK_S_IOERR;
		io_uring_prep_fsync(sqe, fd_, IORING_FSYNC_DATASYNC);
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
				status_[tag] = VIRTIO_BLK_S_IOERR;
				break;
			}
			io_uring_prep_fallocate(sqe, fd_, mode,
			                        static_cast<off_t>(req.ranges[i].offset),
			                        static_cast<off_t>(req.ranges[i].length));
		}
		break;
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
	if (pending_[tag] == 0)
		return status_[tag];
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
	if (tag >= depth_ || pending_[tag] == 0)
		return;
	if (result == -EOPNOTSUPP && requests_[tag] &&
	    requests_[tag]->type == VIRTIO_BLK_T_DISCARD) {
		discard_works_ = false;
		result = 0;
	}
	if (result == -EOPNOTSUPP && retry_unsupported(data))
		return;
	if (status_[tag] == VIRTIO_BLK_S_OK) {
		if (result == -EOPNOTSUPP)
			status_[tag] = VIRTIO_BLK_S_UNSUPP;
		else if (result < 0 ||
		         (expect_[tag] && static_cast<uint64_t>(result) != expect_[tag]))
			status_[tag] = VIRTIO_BLK_S_IOERR;
	}
	if (--pending_[tag] == 0) {
		Bounce &b = bounce_[tag];
		if (b.buffer.data()) {
			if (b.request && status_[tag] == VIRTIO_BLK_S_OK)
				iov_copy_in(b.request->data, b.buffer.data(), b.request->data_len);
			b.request = nullptr;
			b.buffer = Mapping();
		}
		--in_flight_;
		out.push_back({tag, status_[tag]});
	}
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
}

} // namespace vduse
