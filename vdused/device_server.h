// The control thread of vdused: answers the kernel's messages on
// /dev/vduse/NAME and starts or stops the queue workers accordingly.
#pragma once

#include "backends/backend.h"
#include "backends/vhost_user_direct.h"
#include "queue_worker.h"
#include "state/device_spec.h"
#include "state/device_stats.h"
#include "status_line.h"
#include "target_size_follower.h"
#include "vduse/iotlb.h"
#include "vduse/vduse_device.h"
#include "virtio/inflight_log.h"

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace vduse
{

// What a device the kernel gave up on is: every ioctl on it fails with EPERM
// from then on (drivers/vdpa/vdpa_user/vduse_dev.c, vduse_dev_ioctl), and no
// daemon can serve it again.
inline constexpr const char *broken_device_text =
        "the kernel marked the device broken (a message was not answered within its "
        "timeout); no daemon can serve it again: vdusectl del removes it";
// vdused's exit status then; the unit does not restart it (RestartPreventExitStatus).
inline constexpr int exit_device_broken = 3;

class DeviceServer : public ResizableDevice
{
public:
	struct Tuning {
		// The longest a queue busy-polls before sleeping (PollWindow).
		std::chrono::nanoseconds poll_window{0};
		// Tests: SIGUSR2 freezes the control thread, SIGUSR1 kills the
		// process after it takes the next request.
		bool debug_hooks = false;
	};
	// Opens the backend (a network one keeps its connection state at
	// link_path) and the in-flight log at inflight_path; if the log says a
	// driver was using the device (a dead predecessor), takes the queues
	// over from it.
	// Where the server keeps what outlives it or others read (StateDir).
	struct ServerFiles {
		std::filesystem::path inflight; // the in-flight log
		std::filesystem::path link;     // a remote backend's connection state
		std::filesystem::path stats;    // the counters (state/device_stats.h)
		std::filesystem::path bounce;   // its bounce memory (state/bounce_status.h)
	};
	static Result<std::unique_ptr<DeviceServer>>
	create(VduseDevice device, const DeviceSpec &spec, const Tuning &tuning,
	       const ServerFiles &files, StatusLine &status);
	// Use create(), which also sets up the queues.
	DeviceServer(VduseDevice device, const DeviceSpec &spec, std::unique_ptr<Backend> backend,
	             const Tuning &tuning, InflightLog inflight, StatsFile stats,
	             std::optional<BounceMemory> bounce, StatusLine &status);
	~DeviceServer() override;
	DeviceServer(const DeviceServer &) = delete;
	DeviceServer &operator=(const DeviceServer &) = delete;

	// What the control thread calls besides the kernel's messages.
	struct ControlHooks {
		std::function<void()> reload; // at SIGHUP (vdusectl resize)
		// A vhost-user target said its config changed (its disk's size).
		std::function<void()> target_changed;
		// At every wake; while it returns true, again within 200 ms.
		std::function<bool()> retry;
	};
	// Serves messages until SIGTERM or SIGINT arrives on signal_fd (returns
	// success) or the device breaks.
	Status run(int signal_fd, const ControlHooks &hooks);
	// Sets the capacity the queues check requests against and the driver
	// sees (config space + config interrupt).
	Status resize(uint64_t size_bytes) override;
	uint64_t size_bytes() const override { return spec_.size_bytes; }
	// The backend's server's size now (nbd, rbd, vhost-user), see Backend::remote_size.
	Result<uint64_t> remote_size() override { return backend_->remote_size(); }

private:
	Status open_queues();
	Status handle_message();
	// Test hooks (Tuning::debug_hooks), else ignored.
	void run_debug_hook(int signo);
	// The driver wrote the virtio device status (VIRTIO_CONFIG_S_*).
	Status set_device_status(uint8_t status);
	Status start_queue(uint32_t index, bool event_idx, StartMode mode);
	Status start_queues(StartMode mode);
	void stop_queues(StopMode mode = StopMode::drain);
	// Requests a reset left running in the backends (QueueBackend::detached).
	unsigned detached_requests() const;
	// Requests taken before the last IOTLB change still in flight
	// (QueueWorker::requests_before_remap).
	unsigned requests_before_remap() const;
	// Unmaps the memory fenced at a reset, and the mappings an IOTLB change
	// retired, once nothing can write into them.
	void release_fences_when_done();
	// VDUSE_UPDATE_IOTLB: [first, last] changed.
	void update_iotlb(uint64_t first, uint64_t last);
	// Points the kernel's completion work for queue index at cpu.
	// False if the kernel refused it (cpu offline).
	bool steer_completions(uint32_t index, unsigned cpu);

	VduseDevice device_;
	StatusLine &status_;
	DeviceSpec spec_;
	Tuning tuning_;
	// Before the backend, the IOTLB and the workers, which use it.
	std::optional<BounceMemory> bounce_;
	std::unique_ptr<Backend> backend_;
	Iotlb iotlb_;
	InflightLog inflight_;
	DebugHooks hooks_;
	LiveGeometry live_;
	StatsFile stats_;
	std::vector<std::unique_ptr<QueueWorker>> workers_;
	// --rings direct: the target serves the rings; no workers.
	std::unique_ptr<VhostUserDirect> direct_;
	uint8_t device_status_ = 0;        // VIRTIO_CONFIG_S_*
	std::vector<unsigned> queue_cpus_; // queue i's CPU is [i % size]; empty: not pinned
	bool affinity_warned_ = false;
};

} // namespace vduse
