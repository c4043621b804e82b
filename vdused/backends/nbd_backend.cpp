#include "nbd_backend.h"

#include "completion_mailbox.h"
#include "daemon_log.h"
#include "virtio/iovec.h"

#include <cerrno>
#include <spdlog/spdlog.h>

namespace vduse
{

namespace
{

// NBD requests carry 32-bit lengths, and servers limit reads and writes
// further; 32 MiB is what libnbd allows when the server names no maximum.
constexpr uint64_t default_max_request = 32u << 20;

class NbdQueue final : public MailboxQueue
{
public:
	NbdQueue(std::unique_ptr<CompletionMailbox> mailbox, NbdConnection &connection,
	         uint32_t depth, uint64_t max_request)
	        : MailboxQueue(std::move(mailbox)), connection_(connection), slots_(depth),
	          max_request_(max_request)
	{
		for (uint32_t tag = 0; tag < depth; ++tag)
			slots_[tag].key = tag;
	}

	std::optional<uint8_t> submit(const BlkRequest &request, uint16_t tag) override;
	void abandon() override;

private:
	struct Slot : SplitRequest {
		const BlkRequest *request = nullptr;
		std::atomic<bool> cancelled{false}; // the driver reset the device
		std::vector<NbdOp> ops;
		std::vector<uint8_t> bounce; // a read or write of several buffers
		bool bounced = false;
	};

	void add_op(Slot &slot, NbdOp::Kind kind, uint64_t offset, uint64_t length, void *buffer,
	            uint32_t flags);
	void finished(Completion &completion) override;

	NbdConnection &connection_;
	std::vector<Slot> slots_;
	uint64_t max_request_;
};

void NbdQueue::add_op(Slot &slot, NbdOp::Kind kind, uint64_t offset, uint64_t length, void *buffer,
                      uint32_t flags)
{
	NbdOp &op = slot.ops.emplace_back();
	op.kind = kind;
	op.offset = offset;
	op.length = length;
	op.buffer = buffer;
	op.flags = flags;
	op.cancelled = &slot.cancelled;
	op.done = [this, &slot](int error) { slot.operation_done(error, mailbox()); };
}

std::optional<uint8_t> NbdQueue::submit(const BlkRequest &req, uint16_t tag)
{
	if (tag >= slots_.size())
		return VIRTIO_BLK_S_IOERR;
	Slot &slot = slots_[tag];
	slot.request = &req;
	slot.cancelled.store(false, std::memory_order_relaxed);
	slot.ops.clear();
	slot.bounced = false;
	switch (req.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT: {
		bool read = req.type == VIRTIO_BLK_T_IN;
		auto *base = static_cast<uint8_t *>(req.data.front().iov_base);
		// libnbd reads and writes one buffer: a request in several is
		// gathered into the slot's own.
		if (req.data.size() > 1) {
			slot.bounce.resize(req.data_len);
			if (!read)
				iov_copy_out(req.data, 0, slot.bounce.data(), req.data_len);
			base = slot.bounce.data();
			slot.bounced = true;
		}
		for (uint64_t done = 0; done < req.data_len; done += max_request_)
			add_op(slot, read ? NbdOp::Kind::read : NbdOp::Kind::write,
			       req.offset + done, std::min(max_request_, req.data_len - done),
			       base + done, 0);
		break;
	}
	case VIRTIO_BLK_T_FLUSH:
		add_op(slot, NbdOp::Kind::flush, 0, 0, nullptr, 0);
		break;
	case VIRTIO_BLK_T_DISCARD:
		for (const BlkRange &r : req.ranges)
			add_op(slot, NbdOp::Kind::trim, r.offset, r.length, nullptr, 0);
		break;
	case VIRTIO_BLK_T_WRITE_ZEROES:
		// Without UNMAP the zeroes must stay allocated (virtio 1.2, 5.2.6.2).
		for (const BlkRange &r : req.ranges)
			add_op(slot, NbdOp::Kind::zero, r.offset, r.length, nullptr,
			       r.unmap ? 0 : LIBNBD_CMD_FLAG_NO_HOLE);
		break;
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
	if (slot.ops.empty())
		return VIRTIO_BLK_S_OK;
	// Every op is in place before the first can complete.
	slot.expect(static_cast<unsigned>(slot.ops.size()), mailbox().generation());
	started();
	for (NbdOp &op : slot.ops)
		connection_.submit(op);
	return std::nullopt;
}

// Ops held for a server that is gone never touched their buffers and are
// done now; ops on the wire end when the connection is severed under them
// (NbdConnection::cancel), however the server is doing.
void NbdQueue::abandon()
{
	for (Slot &slot : slots_)
		slot.cancelled.store(true, std::memory_order_release);
	connection_.cancel();
}

void NbdQueue::finished(Completion &completion)
{
	Slot &slot = slots_[completion.tag];
	if (slot.bounced && completion.status == VIRTIO_BLK_S_OK &&
	    slot.request->type == VIRTIO_BLK_T_IN)
		iov_copy_in(slot.request->data, slot.bounce.data(), slot.request->data_len);
}

} // namespace

NbdBackend::NbdBackend(const std::filesystem::path &link_file, size_t connections,
                       StatusLine &status)
        : reporter_(link_file, connections, status)
{
}

Result<std::unique_ptr<Backend>>
NbdBackend::open(const DeviceSpec &spec, const std::filesystem::path &link_file, StatusLine &status)
{
	size_t count = spec.nbd_multi_conn ? spec.queues : 1;
	auto backend = std::make_unique<NbdBackend>(link_file, count, status);
	auto log = spdlog::default_logger();
	for (size_t i = 0; i < count; ++i) {
		NbdConnection::Settings settings{spec.url,
		                                 std::chrono::seconds(spec.reconnect_timeout_s), i};
		backend->connections_.push_back(
		        std::make_unique<NbdConnection>(settings, backend->reporter_, log));
		if (auto st = backend->connections_.back()->start(); !st)
			return st.error();
	}
	return std::unique_ptr<Backend>(std::move(backend));
}

// Every connection is made again (NbdConnection::refresh); they must agree.
// Within 5 s in all, half of what vdusectl resize waits for the answer.
Result<uint64_t> NbdBackend::remote_size()
{
	auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
	uint64_t size = 0;
	for (const auto &connection : connections_) {
		auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
		        deadline - std::chrono::steady_clock::now());
		auto now = connection->refresh(std::max(left, std::chrono::milliseconds(1)));
		if (!now)
			return now.error();
		if (size != 0 && *now != size)
			return failure("the server gave one connection " + std::to_string(size) +
			               " bytes and another " + std::to_string(*now));
		size = *now;
	}
	return size;
}

Result<std::unique_ptr<QueueBackend>> NbdBackend::open_queue(uint32_t index, uint32_t depth)
{
	auto mailbox = CompletionMailbox::create();
	if (!mailbox)
		return mailbox.error();
	NbdConnection &connection = *connections_[index % connections_.size()];
	return std::unique_ptr<QueueBackend>(std::make_unique<NbdQueue>(
	        std::move(*mailbox), connection, depth, default_max_request));
}

} // namespace vduse
