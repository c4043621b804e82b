#include "rbd_backend.h"

#include "completion_mailbox.h"

#include <spdlog/spdlog.h>

namespace vduse
{

namespace
{

class RbdQueue final : public MailboxQueue
{
public:
	RbdQueue(std::unique_ptr<CompletionMailbox> mailbox, rbd_image_t image, uint32_t depth)
	        : MailboxQueue(std::move(mailbox)), image_(image), slots_(depth)
	{
		for (uint32_t tag = 0; tag < depth; ++tag) {
			slots_[tag].tag = static_cast<uint16_t>(tag);
			slots_[tag].queue = this;
		}
	}

	std::optional<uint8_t> submit(const BlkRequest &request, uint16_t tag) override;

private:
	struct Slot : SplitRequest {
		RbdQueue *queue = nullptr;
	};
	static void on_complete(rbd_completion_t completion, void *arg);
	// Starts one librbd operation for slot; returns false if librbd refused it.
	template <typename Start>
	bool start(Slot &slot, Start start_operation);

	rbd_image_t image_;
	std::vector<Slot> slots_;
};

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
	if (tag >= slots_.size())
		return VIRTIO_BLK_S_IOERR;
	Slot &slot = slots_[tag];
	unsigned operations = 1;
	if (req.type == VIRTIO_BLK_T_DISCARD || req.type == VIRTIO_BLK_T_WRITE_ZEROES) {
		operations = static_cast<unsigned>(req.ranges.size());
		if (operations == 0)
			return VIRTIO_BLK_S_OK;
	}
	slot.expect(operations);
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
