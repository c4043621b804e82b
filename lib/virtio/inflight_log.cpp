#include "virtio/inflight_log.h"

#include "base/unique_fd.h"

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>

namespace vduse
{

namespace
{

constexpr uint64_t log_magic = 0x31474f4c45535544; // "DUSELOG1"

struct FileHeader {
	uint64_t magic;
	uint32_t queues;
	uint32_t depth;
	std::atomic<uint8_t> status;
	uint8_t pad[47];
};
static_assert(sizeof(FileHeader) == 64);

size_t queue_bytes(uint32_t depth)
{
	return sizeof(inflight::QueueHeader) + sizeof(inflight::Desc) * depth;
}

} // namespace

void QueueLog::taken(uint16_t head)
{
	// One worker thread owns a queue: plain stores, no locked instruction
	// on the request path (x86 keeps them in order; release says so).
	inflight::Desc &d = descs_[head];
	uint64_t taken_at = header_->counter.load(std::memory_order_relaxed) + 1;
	header_->counter.store(taken_at, std::memory_order_relaxed);
	d.taken_at.store(taken_at, std::memory_order_relaxed);
	d.in_flight.store(1, std::memory_order_release);
}

void QueueLog::completing(uint16_t head)
{
	header_->pending_head.store(head, std::memory_order_relaxed);
	header_->pending.store(1, std::memory_order_release);
}

void QueueLog::completed(uint16_t head, uint16_t used_idx)
{
	descs_[head].in_flight.store(0, std::memory_order_release);
	header_->used_idx.store(used_idx, std::memory_order_release);
	header_->pending.store(0, std::memory_order_release);
}

void QueueLog::reset(uint16_t used_idx)
{
	for (uint16_t i = 0; i < size_; ++i)
		descs_[i].in_flight.store(0, std::memory_order_relaxed);
	header_->pending.store(0, std::memory_order_relaxed);
	header_->used_idx.store(used_idx, std::memory_order_release);
}

Result<QueueRecovery> QueueLog::recover(uint16_t ring_used_idx, uint16_t ring_size)
{
	QueueRecovery r;
	uint16_t logged = header_->used_idx.load(std::memory_order_acquire);
	bool pending = header_->pending.load(std::memory_order_acquire);
	uint16_t pending_head = header_->pending_head.load(std::memory_order_acquire);
	if (ring_size > size_)
		return failure("the ring has " + std::to_string(ring_size) +
		               " descriptors, the in-flight log " + std::to_string(size_));
	if (pending && pending_head < ring_size &&
	    ring_used_idx == static_cast<uint16_t>(logged + 1)) {
		// Died after publishing the used index, before logging it: that
		// head is complete and must not be completed again.
		descs_[pending_head].in_flight.store(0, std::memory_order_relaxed);
		header_->used_idx.store(ring_used_idx, std::memory_order_relaxed);
		r.fixed_pending = true;
	} else if (ring_used_idx != logged) {
		return failure("the used index in the ring is " + std::to_string(ring_used_idx) +
		               ", the in-flight log says " + std::to_string(logged));
	}
	header_->pending.store(0, std::memory_order_release);
	std::vector<std::pair<uint64_t, uint16_t>> owed;
	for (uint16_t i = 0; i < size_; ++i) {
		if (!descs_[i].in_flight.load(std::memory_order_acquire))
			continue;
		if (i >= ring_size)
			return failure("head " + std::to_string(i) + " is in flight in a ring of " +
			               std::to_string(ring_size));
		owed.emplace_back(descs_[i].taken_at.load(std::memory_order_relaxed), i);
	}
	std::sort(owed.begin(), owed.end());
	for (const auto &entry : owed)
		r.heads.push_back(entry.second);
	r.last_avail = static_cast<uint16_t>(ring_used_idx + r.heads.size());
	return r;
}

size_t InflightLog::bytes_needed(uint32_t queues, uint32_t depth)
{
	return sizeof(FileHeader) + queue_bytes(depth) * queues;
}

Result<InflightLog> InflightLog::open(const std::filesystem::path &path, uint32_t queues,
                                      uint32_t depth)
{
	size_t bytes = bytes_needed(queues, depth);
	UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
	if (!fd)
		return errno_error("cannot open the in-flight log " + path.string());
	struct stat st {
	};
	if (::fstat(fd.get(), &st) < 0)
		return errno_error("cannot stat " + path.string());
	bool fresh = st.st_size == 0;
	if (fresh && ::ftruncate(fd.get(), static_cast<off_t>(bytes)) < 0)
		return errno_error("cannot size the in-flight log " + path.string());
	if (!fresh && static_cast<size_t>(st.st_size) != bytes)
		return failure("the in-flight log " + path.string() +
		               " is corrupt: " + std::to_string(st.st_size) + " bytes, expected " +
		               std::to_string(bytes));
	void *addr = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
	if (addr == MAP_FAILED)
		return errno_error("cannot map the in-flight log " + path.string());
	Mapping mapping(addr, bytes);
	auto *header = static_cast<FileHeader *>(addr);
	if (fresh) {
		header->queues = queues;
		header->depth = depth;
		header->magic = log_magic;
	} else if (header->magic != log_magic || header->queues != queues ||
	           header->depth != depth) {
		return failure("the in-flight log " + path.string() +
		               " is corrupt or belongs to another device");
	}
	return InflightLog(std::move(mapping), addr, queues, depth);
}

InflightLog InflightLog::in_memory(void *memory, uint32_t queues, uint32_t depth)
{
	std::memset(memory, 0, bytes_needed(queues, depth));
	auto *header = static_cast<FileHeader *>(memory);
	header->magic = log_magic;
	header->queues = queues;
	header->depth = depth;
	return InflightLog(Mapping(), memory, queues, depth);
}

QueueLog InflightLog::queue(uint32_t index) const
{
	if (index >= queues_)
		return {};
	char *q = base_ + sizeof(FileHeader) + queue_bytes(depth_) * index;
	return QueueLog(reinterpret_cast<inflight::QueueHeader *>(q),
	                reinterpret_cast<inflight::Desc *>(q + sizeof(inflight::QueueHeader)),
	                static_cast<uint16_t>(std::min<uint32_t>(depth_, 65535)));
}

uint8_t InflightLog::device_status() const
{
	return reinterpret_cast<const FileHeader *>(base_)->status.load(std::memory_order_acquire);
}

void InflightLog::set_device_status(uint8_t status)
{
	reinterpret_cast<FileHeader *>(base_)->status.store(status, std::memory_order_release);
}

} // namespace vduse
