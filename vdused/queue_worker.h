// One thread serving one virtqueue: waits for kicks and backend completions,
// takes descriptor chains, decodes the requests, hands them to the backend,
// completes them into the used ring and interrupts the driver.
#pragma once

#include "backends/backend.h"
#include "base/unique_fd.h"
#include "poll_window.h"
#include "state/device_stats.h"
#include "vduse/iotlb_cache.h"
#include "vduse/vduse_device.h"
#include "virtio/blk_request.h"
#include "virtio/inflight_takeover.h"
#include "virtio/split_queue.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <spdlog/logger.h>
#include <string>
#include <thread>

namespace vduse
{

// Test hooks the control thread arms and the workers fire
// (DeviceServer::Tuning::debug_hooks).
struct DebugHooks {
	// The process kills itself after it takes the next request (on any
	// queue), before that request is served.
	std::atomic<bool> die_after_next_request{false};
};

// What the control thread changes while the queues run: the capacity, in
// 512-byte sectors (vdusectl resize), read at each request.
struct LiveGeometry {
	std::atomic<uint64_t> capacity_sectors{0};
};

// How a worker stops.
enum class StopMode {
	// Once every request in flight completed (the queue's indexes are kept).
	drain,
	// A reset: the driver took its buffers back. The backend gives up the
	// requests that wait for a server, and whatever finishes is not
	// answered: no status byte, no used element, no interrupt.
	abandon,
	// An IOTLB change: the thread stops taking requests and leaves those in
	// flight with the backend; a start in StartMode::resume answers them.
	// Their buffers are pointers into mappings the device server keeps
	// (Iotlb::Invalidation::retire) until requests_before_remap() is 0.
	pause,
	// An IOTLB change at a backend that cannot keep requests across it:
	// QueueBackend::give_up bounds the wait, and what it fails is answered.
	give_up,
};

class QueueWorker
{
public:
	// max_size: the largest ring the queue serves (its VDUSE_VQ_SETUP size).
	QueueWorker(const VduseDevice &device, uint32_t index, uint16_t max_size,
	            std::unique_ptr<QueueBackend> backend, const BlkGeometry &geometry,
	            std::chrono::nanoseconds poll_window, QueueLog inflight, DebugHooks &hooks,
	            const LiveGeometry &live, LiveQueueStats &stats, std::optional<unsigned> cpu);
	~QueueWorker();
	QueueWorker(const QueueWorker &) = delete;
	QueueWorker &operator=(const QueueWorker &) = delete;

	// Maps the rings, installs the kick eventfd and starts the thread.
	// last_avail is where a fresh queue starts (the kernel's avail index)
	// and is ignored by the other modes.
	Status start(Iotlb &iotlb, const RingAddresses &rings, bool event_idx, uint16_t last_avail,
	             StartMode mode);
	// Stops the thread (see StopMode).
	void stop(StopMode mode = StopMode::drain);
	// The first half of stop(): asks the thread to stop and returns. The
	// control thread asks every queue first, so that queues that wait for a
	// backend (a reset's bounded wait) wait together, not one after another.
	void request_stop(StopMode mode);
	// After a pause whose start() failed: the requests left in flight are
	// given up (as at a reset) on a thread of their own, so that a later
	// session never sees them answered. stop() joins it.
	void discard_in_flight();
	bool running() const { return thread_.joinable(); }
	// Any thread: requests the last abandon left running (QueueBackend::detached).
	unsigned detached_requests() const { return backend_->detached(); }
	// Any thread: requests in flight that were taken before the last pause
	// (their buffers may be in mappings an IOTLB change retired).
	unsigned requests_before_remap() const
	{
		return before_remap_.load(std::memory_order_acquire);
	}
	// The next avail index to take (what VDUSE_GET_VQ_STATE asks for).
	uint16_t last_avail() const { return last_avail_.load(std::memory_order_acquire); }
	void set_last_avail(uint16_t index) { last_avail_.store(index, std::memory_order_release); }

private:
	struct Slot {
		BlkRequest request;
		bool busy = false;
		bool before_remap = false; // taken before the last pause
		uint64_t started_ns = 0;   // CLOCK_MONOTONIC when it was taken
	};

	void run();
	// Ends a run: waits for what is in flight. With abandon, the backend's
	// requests are given up first and nothing is answered (reason logged);
	// with give_up, they are given up and answered.
	void settle(StopMode mode, const char *reason);
	// Serves the avail ring until it stays idle for the poll window (then
	// re-enables kicks), the queue breaks or a stop is requested.
	void serve();
	// Takes the chains available now (a ring's worth at most) and submits
	// them; sets worked if any.
	void take_available(bool &worked);
	bool stopping() const;
	// Before an interrupt: if the kernel moved the pinned thread off its
	// CPU, the queue's interrupts get online CPUs.
	void check_still_pinned();
	// The driver broke the protocol: take nothing more until a reset.
	void break_queue(std::string reason);
	// Whether the driver's memory went missing under this run (a SIGBUS
	// that MemoryFaults took); the first time, breaks the queue. Nothing is
	// answered afterwards: the status bytes may be what is gone.
	bool memory_lost();
	// Completes what the backend finished; sets worked if any.
	void reap_backend(bool wait, bool &worked);
	void start_request(const DescriptorChain &chain);
	void finish(uint16_t head, uint8_t status);
	void interrupt_if_needed();
	void resubmit_recovered();

	const VduseDevice &device_;
	uint32_t index_;
	uint16_t max_size_;
	std::unique_ptr<QueueBackend> backend_;
	BlkGeometry geometry_;
	const LiveGeometry &live_;
	LiveQueueStats &stats_;
	PollWindow poll_window_;
	std::optional<unsigned> cpu_;        // the thread's CPU, if pinned
	bool pinned_ = false;                // to cpu_, and still there when last looked
	std::unique_ptr<IotlbCache> memory_; // the worker's own view, new at each start
	SplitQueue queue_;
	UniqueFd kick_fd_;
	UniqueFd stop_fd_;
	std::thread thread_;
	std::atomic<bool> stop_requested_{false};
	std::atomic<StopMode> stop_mode_{StopMode::drain};
	std::atomic<unsigned> before_remap_{0};
	bool abandoning_ = false;         // the worker thread's: finish() answers nothing
	std::string broken_;              // why the queue stopped taking requests; empty: healthy
	uint64_t memory_faults_seen_ = 0; // MemoryFaults::count() at the start or last look
	bool memory_lost_ = false;
	std::atomic<uint16_t> last_avail_{0};
	DescriptorChain chain_;        // reused: no allocation per request
	std::vector<Slot> slots_;      // requests by descriptor head
	std::vector<Completion> done_; // reused
	uint64_t bad_chains_ = 0;
	std::shared_ptr<spdlog::logger> log_; // messages ("DEVICE: queue N: ...")
	DebugHooks &hooks_;
	QueueLog inflight_;              // this queue's part of the in-flight log
	std::vector<uint16_t> resubmit_; // heads a dead process had taken
};

} // namespace vduse
