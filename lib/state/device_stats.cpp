#include "state/device_stats.h"

#include "base/unique_fd.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <sys/stat.h>
#include <unistd.h>

namespace vduse
{

namespace
{

constexpr uint32_t stats_magic = 0x56445354; // "VDST"
constexpr uint32_t stats_version = 1;

struct StatsHeader {
	uint32_t magic;
	uint32_t version;
	uint32_t queues;
	uint32_t queue_bytes; // sizeof(LiveQueueStats) of the writer
	uint64_t started_unix_ns;
};
constexpr size_t header_bytes = 64;
static_assert(sizeof(StatsHeader) <= header_bytes);
// Version 1's layout, which daemons from before read and write: a new
// counter goes in the padding (at the end of QueueCounters).
static_assert(sizeof(LiveQueueStats) == 512);

size_t file_bytes(uint32_t queues)
{
	return header_bytes + size_t{queues} * sizeof(LiveQueueStats);
}

template <typename From, typename To>
void copy_counters(const From &from, To &to)
{
	auto load = [](const auto &c) { return c.load(std::memory_order_relaxed); };
	for (size_t i = 0; i < stat_types; ++i) {
		to.requests[i] = load(from.requests[i]);
		to.bytes[i] = load(from.bytes[i]);
	}
	to.ok = load(from.ok);
	to.io_errors = load(from.io_errors);
	to.unsupported = load(from.unsupported);
	to.unknown_status = load(from.unknown_status);
	to.resubmitted = load(from.resubmitted);
	to.interrupts = load(from.interrupts);
	to.kicks = load(from.kicks);
	to.latency_ns_total = load(from.latency_ns_total);
	for (size_t i = 0; i < latency_buckets; ++i)
		to.latency[i] = load(from.latency[i]);
}

} // namespace

StatType stat_type(uint32_t virtio_blk_type)
{
	switch (virtio_blk_type) {
	case VIRTIO_BLK_T_IN:
		return StatType::read;
	case VIRTIO_BLK_T_OUT:
		return StatType::write;
	case VIRTIO_BLK_T_FLUSH:
		return StatType::flush;
	case VIRTIO_BLK_T_DISCARD:
		return StatType::discard;
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return StatType::write_zeroes;
	case VIRTIO_BLK_T_GET_ID:
		return StatType::get_id;
	default:
		return StatType::other;
	}
}

uint64_t latency_clock_ns()
{
	timespec now{};
	::clock_gettime(CLOCK_MONOTONIC, &now);
	return static_cast<uint64_t>(now.tv_sec) * 1000000000 + static_cast<uint64_t>(now.tv_nsec);
}

void LiveQueueStats::count_request(uint32_t virtio_blk_type, uint64_t bytes_moved)
{
	auto t = static_cast<size_t>(stat_type(virtio_blk_type));
	add(requests[t]);
	add(bytes[t], bytes_moved);
}

void LiveQueueStats::count_completion(uint8_t status, uint64_t latency_ns)
{
	if (status == VIRTIO_BLK_S_OK)
		add(ok);
	else if (status == VIRTIO_BLK_S_UNSUPP)
		add(unsupported);
	else
		add(io_errors);
	count_latency(latency_ns);
}

void LiveQueueStats::count_completion_without_status(uint64_t latency_ns)
{
	add(unknown_status);
	count_latency(latency_ns);
}

void LiveQueueStats::count_latency(uint64_t latency_ns)
{
	add(latency_ns_total, latency_ns);
	size_t bucket = std::min<size_t>(std::bit_width(latency_ns), latency_buckets - 1);
	add(latency[bucket]);
}

QueueStats difference(const QueueStats &now, const QueueStats &before)
{
	QueueStats d;
	bool back = false;
	auto sub = [&](uint64_t a, uint64_t b) {
		back = back || a < b;
		return a - b;
	};
	for (size_t i = 0; i < stat_types; ++i) {
		d.requests[i] = sub(now.requests[i], before.requests[i]);
		d.bytes[i] = sub(now.bytes[i], before.bytes[i]);
	}
	d.ok = sub(now.ok, before.ok);
	d.io_errors = sub(now.io_errors, before.io_errors);
	d.unsupported = sub(now.unsupported, before.unsupported);
	d.unknown_status = sub(now.unknown_status, before.unknown_status);
	d.resubmitted = sub(now.resubmitted, before.resubmitted);
	d.interrupts = sub(now.interrupts, before.interrupts);
	d.kicks = sub(now.kicks, before.kicks);
	d.latency_ns_total = sub(now.latency_ns_total, before.latency_ns_total);
	for (size_t i = 0; i < latency_buckets; ++i)
		d.latency[i] = sub(now.latency[i], before.latency[i]);
	return back ? now : d;
}

QueueStats total(const StatsSnapshot &snapshot)
{
	QueueStats sum;
	for (const QueueStats &q : snapshot.queues) {
		for (size_t i = 0; i < stat_types; ++i) {
			sum.requests[i] += q.requests[i];
			sum.bytes[i] += q.bytes[i];
		}
		sum.ok += q.ok;
		sum.io_errors += q.io_errors;
		sum.unsupported += q.unsupported;
		sum.unknown_status += q.unknown_status;
		sum.resubmitted += q.resubmitted;
		sum.interrupts += q.interrupts;
		sum.kicks += q.kicks;
		sum.latency_ns_total += q.latency_ns_total;
		for (size_t i = 0; i < latency_buckets; ++i)
			sum.latency[i] += q.latency[i];
	}
	return sum;
}

uint64_t completions(const QueueStats &q)
{
	return q.ok + q.io_errors + q.unsupported + q.unknown_status;
}

uint64_t in_flight(const QueueStats &q)
{
	uint64_t taken = 0;
	for (uint64_t n : q.requests)
		taken += n;
	uint64_t done = completions(q);
	return taken > done ? taken - done : 0;
}

uint64_t latency_percentile_ns(const QueueStats &q, double p)
{
	uint64_t count = 0;
	for (uint64_t n : q.latency)
		count += n;
	if (count == 0)
		return 0;
	auto wanted = static_cast<uint64_t>(std::llround(p * static_cast<double>(count)));
	wanted = std::max<uint64_t>(wanted, 1);
	uint64_t seen = 0;
	for (size_t i = 0; i < latency_buckets; ++i) {
		seen += q.latency[i];
		if (seen >= wanted)
			return uint64_t{1} << i;
	}
	return uint64_t{1} << (latency_buckets - 1);
}

Result<StatsFile> StatsFile::create(const std::filesystem::path &path, uint32_t queues)
{
	UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
	if (!fd)
		return errno_error("cannot create " + path.string());
	size_t bytes = file_bytes(queues);
	if (::ftruncate(fd.get(), static_cast<off_t>(bytes)) < 0)
		return errno_error("cannot size " + path.string());
	void *addr = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
	if (addr == MAP_FAILED)
		return errno_error("cannot map " + path.string());
	Mapping mapping(addr, bytes);
	timespec now{};
	::clock_gettime(CLOCK_REALTIME, &now);
	StatsHeader header{stats_magic, stats_version, queues,
	                   static_cast<uint32_t>(sizeof(LiveQueueStats)),
	                   static_cast<uint64_t>(now.tv_sec) * 1000000000 +
	                           static_cast<uint64_t>(now.tv_nsec)};
	// The file is zeros: every counter starts at 0.
	std::memcpy(mapping.data(), &header, sizeof(header));
	return StatsFile(std::move(mapping));
}

LiveQueueStats &StatsFile::queue(uint32_t index)
{
	auto *base = static_cast<unsigned char *>(mapping_.data()) + header_bytes;
	// The zeroed bytes are valid atomics: a lock-free std::atomic<uint64_t>
	// is a plain 8-byte word.
	return *reinterpret_cast<LiveQueueStats *>(base + size_t{index} * sizeof(LiveQueueStats));
}

Result<StatsSnapshot> read_stats(const std::filesystem::path &path)
{
	UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
	if (!fd)
		return errno_error("cannot read " + path.string());
	struct stat st {
	};
	if (::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode) ||
	    static_cast<size_t>(st.st_size) < header_bytes)
		return failure(path.string() + " is not a stats file");
	StatsHeader header{};
	if (::pread(fd.get(), &header, sizeof(header), 0) != static_cast<ssize_t>(sizeof(header)))
		return errno_error("cannot read " + path.string());
	if (header.magic != stats_magic || header.version != stats_version ||
	    header.queue_bytes != sizeof(LiveQueueStats) || header.queues == 0 ||
	    header.queues > 1024 || static_cast<size_t>(st.st_size) < file_bytes(header.queues))
		return failure(path.string() + " is not a stats file of this version");
	size_t bytes = file_bytes(header.queues);
	void *addr = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd.get(), 0);
	if (addr == MAP_FAILED)
		return errno_error("cannot map " + path.string());
	Mapping mapping(addr, bytes);
	StatsSnapshot snapshot;
	snapshot.started_unix_ns = header.started_unix_ns;
	const auto *base = static_cast<const unsigned char *>(mapping.data()) + header_bytes;
	for (uint32_t i = 0; i < header.queues; ++i) {
		const auto *live = reinterpret_cast<const LiveQueueStats *>(
		        base + size_t{i} * sizeof(LiveQueueStats));
		QueueStats q;
		copy_counters(*live, q);
		snapshot.queues.push_back(q);
	}
	return snapshot;
}

} // namespace vduse
