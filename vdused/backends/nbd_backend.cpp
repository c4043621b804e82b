#include "nbd_backend.h"

#include "completion_mailbox.h"
#include "daemon_log.h"
#include "virtio/iovec.h"

#include <algorithm>
#include <cerrno>
#include <deque>
#include <spdlog/spdlog.h>

namespace vduse
{

namespace
{

// NBD requests carry 32-bit lengths, and servers limit reads and writes
// further; 32 MiB is what libnbd allows when the server names no maximum.
constexpr uint64_t default_max_request = 32u << 20;

// A request in several buffers is gathered into one of the queue's own
// (libnbd reads and writes one buffer), at most gather_chunk bytes at a
// time: a larger request is carried out chunk after chunk. The buffers of
// a queue hold at most gather_budget bytes together, kept by their slots
// for the next request, taken back from idle slots when another needs
// room; a request that finds no room waits for some. So a driver that asks
// for the largest requests the device allows (seg_max x size_max, 254
// MiB) gets them served without the queue holding more than this.
constexpr uint64_t gather_chunk = 2u << 20;
constexpr uint64_t gather_budget = 64u << 20;

// A request in few large pieces is served piece by piece instead, each an
// NBD request of its own straight into or out of the driver's buffers: a
// 1 MiB read of fio's huge-page buffer comes in one or two pieces, and a
// copy of it costs more than a second request on the connection. Pieces
// of a page each (the bounce pages of a buffer in small pages are seldom
// side by side) are gathered.
constexpr uint64_t piece_at_least = 64u << 10;

class NbdQueue final : public MailboxQueue
{
public:
	NbdQueue(std::unique_ptr<CompletionMailbox> mailbox, NbdConnection &connection,
	         uint32_t depth, uint64_t max_request, uint32_t block_size)
	        : MailboxQueue(std::move(mailbox)), connection_(connection), slots_(depth),
	          max_request_(max_request), block_size_(block_size)
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
		std::vector<uint8_t> bounce;  // gathered data, gather_chunk at most
		bool gathering = false;       // a gathered request owns the slot
		bool chunk_in_flight = false; // its bounce buffer is with the connection
		uint64_t gathered = 0;        // of its data, done by the chunks before
		uint64_t chunk = 0;           // bytes of the chunk in flight
	};

	void add_op(Slot &slot, NbdOp::Kind kind, uint64_t offset, uint64_t length, void *buffer,
	            uint32_t flags);
	// Hands the slot's ops to the connection.
	void start_ops(Slot &slot);
	// Gathers the next chunk of a request in several buffers and starts it.
	void start_chunk(Slot &slot);
	// Makes the slot's bounce buffer at least bytes long within the
	// budget, taking buffers back from idle slots; false if no room.
	bool reserve_bounce(Slot &slot, uint64_t bytes);
	// Starts the gathered requests that wait for room, in order.
	void start_waiting();
	// The largest read or write to send: the server's maximum block size
	// if it names one below ours.
	uint64_t request_limit() const
	{
		uint64_t server = connection_.max_request();
		return server > 0 && server < max_request_ ? server : max_request_;
	}
	// Whether a request in several buffers is served buffer by buffer:
	// large ones, each whole blocks (vdusectl add checks that the
	// server's minimum divides the device's block).
	bool in_pieces(const BlkRequest &req) const;
	bool finished(Completion &completion) override;

	NbdConnection &connection_;
	std::vector<Slot> slots_;
	uint64_t max_request_;
	uint32_t block_size_;
	uint64_t bounce_bytes_ = 0;    // held by every slot's bounce buffer
	std::deque<uint16_t> waiting_; // tags of gathered requests without room
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

void NbdQueue::start_ops(Slot &slot)
{
	// Every op is in place before the first can complete.
	slot.expect(static_cast<unsigned>(slot.ops.size()), mailbox().generation());
	for (NbdOp &op : slot.ops)
		connection_.submit(op);
}

bool NbdQueue::reserve_bounce(Slot &slot, uint64_t bytes)
{
	if (slot.bounce.size() >= bytes)
		return true;
	uint64_t growth = bytes - slot.bounce.size();
	for (Slot &other : slots_) {
		if (bounce_bytes_ + growth <= gather_budget)
			break;
		// A slot waiting for room holds a buffer it does not use yet:
		// taking it back too means the waiting can never block each other.
		if (&other == &slot || other.chunk_in_flight || other.bounce.empty())
			continue;
		bounce_bytes_ -= other.bounce.size();
		std::vector<uint8_t>().swap(other.bounce);
	}
	if (bounce_bytes_ + growth > gather_budget)
		return false;
	slot.bounce.resize(bytes);
	bounce_bytes_ += growth;
	return true;
}

void NbdQueue::start_chunk(Slot &slot)
{
	const BlkRequest &req = *slot.request;
	bool read = req.type == VIRTIO_BLK_T_IN;
	slot.chunk = std::min(gather_chunk, req.data_len - slot.gathered);
	slot.chunk_in_flight = true;
	if (!read)
		iov_copy_out(req.data, slot.gathered, slot.bounce.data(), slot.chunk);
	slot.ops.clear();
	uint64_t limit = request_limit();
	for (uint64_t done = 0; done < slot.chunk; done += limit)
		add_op(slot, read ? NbdOp::Kind::read : NbdOp::Kind::write,
		       req.offset + slot.gathered + done, std::min(limit, slot.chunk - done),
		       slot.bounce.data() + done, 0);
	start_ops(slot);
}

void NbdQueue::start_waiting()
{
	while (!waiting_.empty()) {
		Slot &slot = slots_[waiting_.front()];
		if (!reserve_bounce(slot, std::min(gather_chunk, slot.request->data_len)))
			return;
		waiting_.pop_front();
		start_chunk(slot);
	}
}

bool NbdQueue::in_pieces(const BlkRequest &req) const
{
	if (req.data_len < piece_at_least * req.data.size())
		return false;
	return std::all_of(req.data.begin(), req.data.end(),
	                   [this](const iovec &piece) { return piece.iov_len % block_size_ == 0; });
}

std::optional<uint8_t> NbdQueue::submit(const BlkRequest &req, uint16_t tag)
{
	if (tag >= slots_.size())
		return VIRTIO_BLK_S_IOERR;
	Slot &slot = slots_[tag];
	slot.request = &req;
	slot.cancelled.store(false, std::memory_order_relaxed);
	slot.ops.clear();
	switch (req.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT: {
		if (req.data.size() > 1 && !in_pieces(req)) {
			slot.gathering = true;
			slot.gathered = 0;
			slot.chunk = 0;
			started();
			// Behind others that wait, or until there is room.
			if (!waiting_.empty() ||
			    !reserve_bounce(slot, std::min(gather_chunk, req.data_len))) {
				waiting_.push_back(tag);
				return std::nullopt;
			}
			start_chunk(slot);
			return std::nullopt;
		}
		bool read = req.type == VIRTIO_BLK_T_IN;
		uint64_t limit = request_limit();
		uint64_t offset = req.offset;
		for (const iovec &piece : req.data) {
			auto *base = static_cast<uint8_t *>(piece.iov_base);
			for (uint64_t done = 0; done < piece.iov_len; done += limit)
				add_op(slot, read ? NbdOp::Kind::read : NbdOp::Kind::write,
				       offset + done, std::min(limit, piece.iov_len - done),
				       base + done, 0);
			offset += piece.iov_len;
		}
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
	started();
	start_ops(slot);
	return std::nullopt;
}

// Ops held for a server that is gone never touched their buffers and are
// done now; ops on the wire end when the connection is severed under them
// (NbdConnection::cancel), however the server is doing. Requests waiting
// for gather room never started: they are done at once.
void NbdQueue::abandon()
{
	for (Slot &slot : slots_)
		slot.cancelled.store(true, std::memory_order_release);
	for (uint16_t tag : waiting_) {
		Slot &slot = slots_[tag];
		slot.expect(1, mailbox().generation());
		slot.operation_done(ECANCELED, mailbox());
	}
	waiting_.clear();
	connection_.cancel();
}

bool NbdQueue::finished(Completion &completion)
{
	Slot &slot = slots_[completion.tag];
	if (slot.gathering) {
		slot.chunk_in_flight = false;
		const BlkRequest &req = *slot.request;
		if (completion.status == VIRTIO_BLK_S_OK && req.type == VIRTIO_BLK_T_IN)
			iov_copy_in(req.data, slot.gathered, slot.bounce.data(), slot.chunk);
		slot.gathered += slot.chunk;
		if (completion.status == VIRTIO_BLK_S_OK && slot.gathered < req.data_len &&
		    !slot.cancelled.load(std::memory_order_acquire)) {
			start_chunk(slot);
			return false;
		}
		slot.gathering = false;
		start_waiting();
	}
	return true;
}

} // namespace

NbdBackend::NbdBackend(const std::filesystem::path &link_file, size_t connections,
                       uint32_t block_size, StatusLine &status)
        : reporter_(link_file, connections, status), block_size_(block_size)
{
}

Result<std::unique_ptr<Backend>>
NbdBackend::open(const DeviceSpec &spec, const std::filesystem::path &link_file, StatusLine &status)
{
	size_t count = spec.nbd_multi_conn ? spec.queues : 1;
	auto backend = std::make_unique<NbdBackend>(link_file, count, spec.block_size, status);
	auto log = spdlog::default_logger();
	for (size_t i = 0; i < count; ++i) {
		NbdConnection::Settings settings;
		settings.uri = spec.url;
		settings.reconnect_timeout = std::chrono::seconds(spec.reconnect_timeout_s);
		settings.io_timeout = std::chrono::seconds(spec.io_timeout_s);
		settings.socket_owner = spec.socket_owner_uid;
		settings.index = i;
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
	        std::move(*mailbox), connection, depth, default_max_request, block_size_));
}

} // namespace vduse
