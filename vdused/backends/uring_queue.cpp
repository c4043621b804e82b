#include "uring_queue.h"

#include "virtio/iovec.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/eventfd.h>

namespace vduse
{

Result<std::unique_ptr<QueueBackend>> UringQueue::create(int fd, bool block_device,
                                                        uint32_t direct_alignment, uint32_t depth)
{
	auto queue = std::make_unique<UringQueue>(fd, block_device, direct_alignment, depth);
	if (auto st = queue->init(); !st)
		return st.error();
	return std::unique_ptr<QueueBackend>(std::move(queue));
}

UringQueue::UringQueue(int fd, bool block_device, uint32_t direct_alignment, uint32_t depth)
        : fd_(fd), block_device_(block_device), direct_alignment_(direct_alignment),
          depth_(depth), bounce_(depth), pending_(depth), status_(depth), expect_(depth)
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
	size_t size = (req.data_len + direct_alignment_ - 1) / direct_alignment_ * direct_alignment_;
	b.buffer.reset(static_cast<uint8_t *>(std::aligned_alloc(direct_alignment_, size)));
	if (!b.buffer)
		return false;
	b.iov = {b.buffer.get(), req.data_len};
	b.request = nullptr;
	if (req.type == VIRTIO_BLK_T_OUT)
		iov_copy_out(req.data, 0, b.buffer.get(), req.data_len);
	else
		b.request = &req;
	return true;
}

std::optional<uint8_t> UringQueue::submit(const BlkRequest &req, uint16_t tag)
{
	if (tag >= depth_)
		return VIRTIO_BLK_S_IOERR;
	status_[tag] = VIRTIO_BLK_S_OK;
	expect_[tag] = 0;
	pending_[tag] = 0;
	auto add = [&]() -> io_uring_sqe * {
		io_uring_sqe *sqe = next_sqe();
		if (sqe) {
			io_uring_sqe_set_data64(sqe, tag);
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
		{
			const iovec *iov = req.data.data();
			auto count = static_cast<unsigned>(req.data.size());
			if (!aligned(req)) {
				if (!bounce(req, tag)) {
					io_uring_prep_nop(sqe);
					status_[tag] = VIRTIO_BLK_S_IOERR;
					break;
				}
				iov = &bounce_[tag].iov;
				count = 1;
			}
			if (req.type == VIRTIO_BLK_T_IN)
				io_uring_prep_readv(sqe, fd_, iov, count, req.offset);
			else
				io_uring_prep_writev(sqe, fd_, iov, count, req.offset);
		}
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (!(sqe = add()))
			return VIRTIO_BLK_S_IOERR;
		io_uring_prep_fsync(sqe, fd_, IORING_FSYNC_DATASYNC);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		for (const BlkRange &range : req.ranges) {
			int mode = FALLOC_FL_KEEP_SIZE;
			if (req.type == VIRTIO_BLK_T_WRITE_ZEROES)
				mode |= range.unmap ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE;
			else
				// On a block device a plain punch hole means "zero out"
				// (block/fops.c, blkdev_fallocate); NO_HIDE_STALE makes it a
				// discard.
				mode |= FALLOC_FL_PUNCH_HOLE |
				        (block_device_ ? FALLOC_FL_NO_HIDE_STALE : 0);
			if (!(sqe = add())) {
				// Ranges already queued still complete; the request fails.
				status_[tag] = VIRTIO_BLK_S_IOERR;
				break;
			}
			io_uring_prep_fallocate(sqe, fd_, mode, static_cast<off_t>(range.offset),
			                        static_cast<off_t>(range.length));
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

void UringQueue::finish_one(uint16_t tag, int result, std::vector<Completion> &out)
{
	if (tag >= depth_ || pending_[tag] == 0)
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
		if (b.buffer) {
			if (b.request && status_[tag] == VIRTIO_BLK_S_OK)
				iov_copy_in(b.request->data, b.buffer.get(), b.request->data_len);
			b.buffer.reset();
			b.request = nullptr;
		}
		--in_flight_;
		out.push_back({tag, status_[tag]});
	}
}

void UringQueue::reap(std::vector<Completion> &out, bool wait)
{
	uint64_t count;
	(void)::read(event_fd_.get(), &count, sizeof(count));
	if (wait && in_flight_ > 0)
		io_uring_submit_and_wait(&ring_, 1);
	for (;;) {
		io_uring_cqe *cqe;
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&ring_, head, cqe)
		{
			finish_one(static_cast<uint16_t>(io_uring_cqe_get_data64(cqe)), cqe->res,
			           out);
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
