// A device's counters, shared between vdused (which writes them) and
// vdusectl stats (which reads them) through STATE_DIR/NAME.stats: a header
// and one cache-line-aligned block per queue. Each block is written by its
// queue's thread only, with relaxed atomic stores (no locked instruction on
// the request path); a reader sees each counter whole, the set of them a few
// requests apart at worst. The counters start at zero when vdused starts.
#pragma once

#include "base/mapping.h"
#include "base/result.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <vector>

namespace vduse
{

// Request types as counted: VIRTIO_BLK_T_* folded into these.
enum class StatType : uint8_t { read, write, flush, discard, write_zeroes, get_id, other };
inline constexpr size_t stat_types = 7;
// Latency histogram: bucket i holds latencies of at most 2^i ns (bucket 0: 1 ns).
inline constexpr size_t latency_buckets = 40;

StatType stat_type(uint32_t virtio_blk_type);
// The clock latencies are measured by (CLOCK_MONOTONIC), in ns.
uint64_t latency_clock_ns();

template <typename Counter>
struct QueueCounters {
	std::array<Counter, stat_types> requests{};
	std::array<Counter, stat_types> bytes{};
	Counter ok{}, io_errors{}, unsupported{}; // completions by status
	Counter resubmitted{};                    // taken over from a dead predecessor
	Counter interrupts{};                     // VDUSE_VQ_INJECT_IRQ calls
	Counter kicks{};                          // driver notifications read
	Counter latency_ns_total{};
	std::array<Counter, latency_buckets> latency{};
	// Completions whose status vdused could not see (direct rings: read
	// after the fact, the status byte may be another request's). Last:
	// the file of a daemon from before it reads as zero here (the block
	// is padded to 64 bytes either way).
	Counter unknown_status{};
};

struct alignas(64) LiveQueueStats : QueueCounters<std::atomic<uint64_t>> {
	// Only the queue's own thread writes: a load and a store, no lock prefix.
	static void add(std::atomic<uint64_t> &c, uint64_t n = 1)
	{
		c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
	}
	void count_request(uint32_t virtio_blk_type, uint64_t bytes_moved);
	void count_completion(uint8_t status, uint64_t latency_ns);
	void count_completion_without_status(uint64_t latency_ns);

private:
	void count_latency(uint64_t latency_ns);
};
static_assert(std::atomic<uint64_t>::is_always_lock_free);

using QueueStats = QueueCounters<uint64_t>;

struct StatsSnapshot {
	uint64_t started_unix_ns = 0;
	std::vector<QueueStats> queues;
};

// Sums of a snapshot's queues.
QueueStats total(const StatsSnapshot &snapshot);
// What happened between two readings of the same counters (now - before);
// now itself if any counter went back (a new daemon started in between).
QueueStats difference(const QueueStats &now, const QueueStats &before);
// Requests completed, whatever their status.
uint64_t completions(const QueueStats &q);
// Requests taken and not completed yet.
uint64_t in_flight(const QueueStats &q);
// The latency below which a fraction p (0 < p <= 1) of the completions fell,
// as the upper bound of its histogram bucket (a power of two of ns); 0 if
// nothing completed.
uint64_t latency_percentile_ns(const QueueStats &q, double p);

class StatsFile
{
public:
	// Creates (or starts afresh) the file for `queues` queues and maps it.
	static Result<StatsFile> create(const std::filesystem::path &path, uint32_t queues);
	LiveQueueStats &queue(uint32_t index);

private:
	explicit StatsFile(Mapping mapping) : mapping_(std::move(mapping)) {}
	Mapping mapping_;
};

// Reads a stats file; an error names the file when it is not one.
Result<StatsSnapshot> read_stats(const std::filesystem::path &path);

} // namespace vduse
