#include "rbd_backend.h"

#include "completion_mailbox.h"

#include <chrono>
#include <deque>
#include <spdlog/spdlog.h>
#include <thread>

namespace vduse
{

namespace
{

class RbdQueue final : public MailboxQueue
{
public:
	RbdQueue(std::unique_ptr<CompletionMailbox> mailbox, rbd_image_t image, uint32_t depth)
	        : MailboxQueue(std::move(mailbox)), image_(image)
	{
		for (uint32_t key = 0; key < depth; ++key)
			add_slot();
	}
	~RbdQueue() override;

	std::optional<uint8_t> submit(const BlkRequest &request, uint16_t tag) override;
	void abandon() override;

private:
	struct Slot : SplitRequest {
		RbdQueue *queue = nullptr;
		uint16_t tag = 0; // the virtio request's
	};
	static void on_complete(rbd_completion_t completion, void *arg);
	// Starts one librbd operation for slot; returns false if librbd refused it.
	template <typename Start>
	bool start(Slot &slot, Start start_operation);
	void add_slot();
	uint16_t tag_of(uint32_t key) override;
	void retired_finished(uint32_t key) override { free_.push_back(key); }

	rbd_image_t image_;
	// Slots are taken from free_ per request, not by tag: a request that a
	// reset left running in librbd keeps its slot (librbd's callback holds
	// it) while the next driver session reuses the tag. The deque keeps
	// the slots where they are as it grows by what resets left running.
	std::deque<Slot> slots_;
	std::vector<uint32_t> free_;
};

void RbdQueue::add_slot()
{
	Slot &slot = slots_.emplace_back();
	slot.key = static_cast<uint32_t>(slots_.size() - 1);
	slot.queue = this;
	free_.push_back(slot.key);
}

uint16_t RbdQueue::tag_of(uint32_t key)
{
	free_.push_back(key);
	return slots_[key].tag;
}

// librbd has no way to cancel an operation: the requests that wait for an
// OSD are left running, their completions void, and the memory they would
// read into is fenced by the device server (see docs/ARCHITECTURE.md).
void RbdQueue::abandon()
{
	retire_in_flight();
}

// Closing the image waits for what librbd still runs; so does this, so that
// no callback finds its slot gone.
RbdQueue::~RbdQueue()
{
	while (detached() > 0) {
		std::vector<Completion> ignored;
		reap(ignored, false);
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	}
}

void RbdQueue::on_complete(rbd_completion_t completion, void *arg)
{
	auto *slot = static_cast<Slot *>(arg);
	ssize_t r = rbd_aio_get_return_value(completion);
	rbd_aio_release(completion);
	slot->operation_done(r < 0 ? static_cast<int>(-r) : 0, slot->queue->mailbox());
}

template <typename Start>
bool RbdQueue::start(Slot &slot, Start start_operation)
{
	rbd_completion_t completion = nullptr;
	if (rbd_aio_create_completion(&slot, on_complete, &completion) < 0)
		return false;
	int r = start_operation(completion);
	if (r < 0) {
		rbd_aio_release(completion);
		return false;
	}
	return true;
}

std::optional<uint8_t> RbdQueue::submit(const BlkRequest &req, uint16_t tag)
{
	if (free_.empty())
		add_slot();
	Slot &slot = slots_[free_.back()];
	unsigned operations = 1;
	if (req.type == VIRTIO_BLK_T_DISCARD || req.type == VIRTIO_BLK_T_WRITE_ZEROES) {
		operations = static_cast<unsigned>(req.ranges.size());
		if (operations == 0)
			return VIRTIO_BLK_S_OK;
	}
	free_.pop_back();
	slot.tag = tag;
	slot.expect(operations, mailbox().generation());
	started();
	// An operation librbd refused counts as failed; the others still finish.
	auto refused = [&] { slot.operation_done(EIO, mailbox()); };
	const auto *iov = req.data.data();
	int iovcnt = static_cast<int>(req.data.size());
	switch (req.type) {
	case VIRTIO_BLK_T_IN:
		if (!start(slot, [&](rbd_completion_t c) {
			    return rbd_aio_readv(image_, iov, iovcnt, req.offset, c);
		    }))
			refused();
		break;
	case VIRTIO_BLK_T_OUT:
		if (!start(slot, [&](rbd_completion_t c) {
			    return rbd_aio_writev(image_, iov, iovcnt, req.offset, c);
		    }))
			refused();
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (!start(slot, [&](rbd_completion_t c) { return rbd_aio_flush(image_, c); }))
			refused();
		break;
	case VIRTIO_BLK_T_DISCARD:
		for (const BlkRange &r : req.ranges) {
			if (!start(slot, [&](rbd_completion_t c) {
				    return rbd_aio_discard(image_, r.offset, r.length, c);
			    }))
				refused();
		}
		break;
	case VIRTIO_BLK_T_WRITE_ZEROES:
		// Without UNMAP the zeroes must stay allocated (virtio 1.2, 5.2.6.2).
		for (const BlkRange &r : req.ranges) {
			int flags = r.unmap ? 0 : RBD_WRITE_ZEROES_FLAG_THICK_PROVISION;
			if (!start(slot, [&](rbd_completion_t c) {
				    return rbd_aio_write_zeroes(image_, r.offset, r.length, c,
				                                flags, 0);
			    }))
				refused();
		}
		break;
	default:
		// decode_blk_request lets nothing else through.
		for (unsigned i = 0; i < operations; ++i)
			refused();
		break;
	}
	return std::nullopt;
}

} // namespace

RbdBackend::RbdBackend(RbdImage image, const DeviceSpec &spec,
                       const std::filesystem::path &link_file, StatusLine &status)
        : image_(std::move(image)), reporter_(link_file, 1, status)
{
	if (!spec.read_only)
		reporter_.set_lock_owner(image_.lock_owner());
	reporter_.report(0, LinkState::connected);
}

Result<std::unique_ptr<Backend>>
RbdBackend::open(const DeviceSpec &spec, const std::filesystem::path &link_file, StatusLine &status)
{
	// vdused opens the VDUSE device before the backend, and only one
	// process can have it open: a lock owner recorded here belongs to a
	// predecessor that is gone.
	std::string dead_owner;
	if (auto previous = read_link_status(link_file); previous)
		dead_owner = previous->lock_owner;
	auto image = RbdImage::open(spec, RbdImage::Access::serve, dead_owner);
	if (!image)
		return with_context(spec.name, image.error());
	auto info = image->info();
	if (!info)
		return with_context(spec.name, info.error());
	if (info->size < spec.size_bytes)
		return failure(spec.name + ": rbd:" + spec.rbd_image + " holds " +
		               std::to_string(info->size) + " bytes, less than the device's " +
		               std::to_string(spec.size_bytes));
	return std::unique_ptr<Backend>(
	        std::make_unique<RbdBackend>(std::move(*image), spec, link_file, status));
}

// librbd learns of `rbd resize` through the image's header watch and
// refreshes before the next call that needs it (rbd_stat included).
Result<uint64_t> RbdBackend::remote_size()
{
	auto info = image_.info();
	if (!info)
		return info.error();
	return info->size;
}

Result<std::unique_ptr<QueueBackend>> RbdBackend::open_queue(uint32_t, uint32_t depth)
{
	auto mailbox = CompletionMailbox::create();
	if (!mailbox)
		return mailbox.error();
	return std::unique_ptr<QueueBackend>(
	        std::make_unique<RbdQueue>(std::move(*mailbox), image_.image(), depth));
}

} // namespace vduse
