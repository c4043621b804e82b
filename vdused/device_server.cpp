#include "device_server.h"

#include "base/cpu_list.h"
#include "state/bounce_status.h"
#include "vduse/irq_affinity.h"
#include "virtio/vring.h"

#include <algorithm>
#include <array>
#include <csignal>
#include <cstddef>
#include <cstring>
#include <endian.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <poll.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>
#include <utility>

namespace vduse
{

namespace
{

// --bounce-memory: the memory vdused gives the kernel for the device's
// bounce buffer, as large as the kernel made the buffer.
Result<std::optional<BounceMemory>> allocate_bounce_memory(const DeviceSpec &spec,
                                                           const std::filesystem::path &report)
{
	std::error_code ec;
	std::filesystem::remove(report, ec);
	if (spec.bounce_memory == "default" || spec.driver != Driver::virtio)
		return std::optional<BounceMemory>();
	auto size = read_bounce_size(spec.name);
	if (!size)
		return size.error();
	// The kernel counts the pages it pins for the device and, without
	// CAP_IPC_LOCK, those each queue's io_uring pins as fixed buffers.
	if (auto st = ensure_memlock((uint64_t{spec.queues} + 1) * *size); !st)
		return with_context(spec.name, st.error());
	auto memory = BounceMemory::allocate(spec.name, spec.bounce_memory, *size);
	if (!memory)
		return memory.error();
	spdlog::info("{}: bounce memory: {} MiB of {}", spec.name, *size >> 20, memory->kind());
	if (auto st = write_bounce_status(report, {memory->kind(), *size, false}); !st)
		spdlog::warn("{}", st.error().message);
	return std::optional<BounceMemory>(std::move(*memory));
}

// The CPUs this process may run on (taskset, the unit's CPUAffinity=).
std::vector<unsigned> allowed_cpus()
{
	cpu_set_t set;
	CPU_ZERO(&set);
	std::vector<unsigned> cpus;
	if (::sched_getaffinity(0, sizeof(set), &set) == 0) {
		for (unsigned cpu = 0; cpu < CPU_SETSIZE; ++cpu)
			if (CPU_ISSET(cpu, &set))
				cpus.push_back(cpu);
	}
	return cpus;
}

// --cpus: the CPUs queue i takes the (i mod n)-th of; none if not pinned.
std::vector<unsigned> queue_cpus(const DeviceSpec &spec)
{
	if (spec.cpus == "any")
		return {};
	if (!spec.cpus.empty()) {
		auto listed = parse_cpu_list(spec.cpus);
		return listed ? *listed : std::vector<unsigned>();
	}
	return allowed_cpus();
}

// The longest poll window of the device's queues: the one asked for, but
// the shortest (PollWindow::floor) when there are more queues than CPUs to
// run them. Their threads would then spin in each other's way and in the
// backend's: 4 queues at QD1 on two vCPUs gave nbd 0.49x of the fixed
// 50 µs window's random-write IOPS with a 400 µs one (docs/DATA-PATH.md).
std::chrono::nanoseconds longest_poll_window(std::chrono::nanoseconds asked, uint32_t queues,
                                             const std::vector<unsigned> &queue_cpus)
{
	// Not pinned (--cpus any): the queues share what the process may use.
	size_t cpus = queue_cpus.empty() ? allowed_cpus().size() : queue_cpus.size();
	return queues > cpus ? std::min(asked, std::chrono::nanoseconds(PollWindow::floor)) : asked;
}

} // namespace

Result<std::unique_ptr<DeviceServer>>
DeviceServer::create(VduseDevice device, const DeviceSpec &spec, const Tuning &tuning,
                     const ServerFiles &files, StatusLine &status_line)
{
	auto backend = make_backend(spec, files.link, status_line);
	if (!backend)
		return backend.error();
	auto inflight = InflightLog::open(files.inflight, spec.queues, spec.queue_depth);
	if (!inflight)
		return with_context(spec.name, inflight.error());
	auto stats = StatsFile::create(files.stats, spec.queues);
	if (!stats)
		return with_context(spec.name, stats.error());
	auto bounce = allocate_bounce_memory(spec, files.bounce);
	if (!bounce)
		return bounce.error();
	auto server = std::make_unique<DeviceServer>(
	        std::move(device), spec, std::move(*backend), tuning, std::move(*inflight),
	        std::move(*stats), std::move(*bounce), status_line);
	if (server->bounce_) {
		BounceStatus report{server->bounce_->kind(), server->bounce_->size(), false};
		server->iotlb_.use_bounce_memory(
		        &*server->bounce_, [report, path = files.bounce](bool registered) mutable {
			        report.registered = registered;
			        if (auto st = write_bounce_status(path, report); !st)
				        spdlog::warn("{}", st.error().message);
		        });
	}
	if (spec.rings == "direct") {
		VhostUserLink *link = server->backend_->vhost_user_link();
		if (!link)
			return failure(spec.name + ": direct rings are for the vhost-user backend");
		std::filesystem::path record = files.inflight;
		record += ".rings";
		auto direct = VhostUserDirect::open(server->device_, server->iotlb_, *link, spec,
		                                    record, server->stats_);
		if (!direct)
			return with_context(spec.name, direct.error());
		server->direct_ = std::move(*direct);
	}
	if (auto st = server->open_queues(); !st)
		return st.error();
	// A predecessor answered DRIVER_OK and died: the driver is still using
	// the rings, which the kernel keeps; take the queues over.
	uint8_t status = server->inflight_.device_status();
	if (status & VIRTIO_CONFIG_S_DRIVER_OK) {
		spdlog::info("{}: taking over from a previous vdused (device status {:#x})",
		             spec.name, status);
		server->device_status_ = status;
		if (auto st = server->start_queues(StartMode::recover); !st)
			return st.error();
		status_line.set_device("serving " + spec.name + " with " +
		                       std::to_string(spec.queues) + " queue(s), taken over");
	}
	return server;
}

DeviceServer::DeviceServer(VduseDevice device, const DeviceSpec &spec,
                           std::unique_ptr<Backend> backend, const Tuning &tuning,
                           InflightLog inflight, StatsFile stats,
                           std::optional<BounceMemory> bounce, StatusLine &status)
        : device_(std::move(device)), status_(status), spec_(spec), tuning_(tuning),
          bounce_(std::move(bounce)), backend_(std::move(backend)), iotlb_(device_.fd()),
          inflight_(std::move(inflight)), stats_(std::move(stats))
{
	live_.capacity_sectors.store(spec.size_bytes / 512, std::memory_order_relaxed);
	backend_->attach_memory(iotlb_);
	if (bounce_)
		backend_->use_fixed_memory(*bounce_);
}

DeviceServer::~DeviceServer()
{
	stop_queues();
	iotlb_.release_bounce_memory();
}

Status DeviceServer::open_queues()
{
	BlkGeometry geometry = blk_geometry(spec_);
	queue_cpus_ = queue_cpus(spec_);
	std::chrono::nanoseconds poll_window =
	        longest_poll_window(tuning_.poll_window, spec_.queues, queue_cpus_);
	for (uint32_t i = 0; i < spec_.queues; ++i) {
		if (auto st = device_.setup_queue(i, spec_.queue_depth); !st)
			return st;
		if (direct_)
			continue;
		auto backend = backend_->open_queue(i, spec_.queue_depth);
		if (!backend)
			return backend.error();
		workers_.push_back(std::make_unique<QueueWorker>(
		        device_, i, static_cast<uint16_t>(spec_.queue_depth), std::move(*backend),
		        geometry, poll_window, inflight_.queue(i), hooks_, live_, stats_.queue(i),
		        queue_cpus_.empty()
		                ? std::nullopt
		                : std::optional<unsigned>(queue_cpus_[i % queue_cpus_.size()])));
	}
	return {};
}

Status DeviceServer::start_queue(uint32_t index, bool event_idx, StartMode mode)
{
	auto info = device_.queue_info(index);
	if (!info)
		return info.error();
	if (!info->ready)
		return {};
	RingAddresses rings{info->desc_addr, info->driver_addr, info->device_addr,
	                    static_cast<uint16_t>(info->num)};
	if (auto st =
	            workers_[index]->start(iotlb_, rings, event_idx, info->split.avail_index, mode);
	    !st)
		return st;
	spdlog::debug("{}: queue {} started: size {}, avail index {}", spec_.name, index, info->num,
	              workers_[index]->last_avail());
	// A mask the kernel took for steering has its CPU online already.
	if (queue_cpus_.empty() ||
	    !steer_completions(index, queue_cpus_[index % queue_cpus_.size()]))
		keep_irq_affinity_online(spec_.name, index);
	return {};
}

bool DeviceServer::steer_completions(uint32_t index, unsigned cpu)
{
	// VDUSE_VQ_INJECT_IRQ queues the driver's completion work on a CPU of
	// the queue's irq_cb_affinity, round robin (drivers/vdpa/vdpa_user/
	// vduse_dev.c, vduse_vq_update_effective_cpu); virtio_vdpa sets it to
	// all CPUs for a single queue when the driver starts. On the CPU of the
	// thread that injects it, the work needs no other CPU woken. Set after
	// the driver's own setting, at each start.
	auto st = set_irq_affinity(spec_.name, index, {cpu});
	if (!st && !std::exchange(affinity_warned_, true))
		spdlog::warn("{}: cannot steer queue {}'s completions to CPU {}: {}", spec_.name,
		             index, cpu, st.error().message);
	return st.ok();
}

Status DeviceServer::start_queues(StartMode mode)
{
	// Direct rings keep their masks online where they interrupt: at each
	// connection, before the first interrupt (VhostUserDirect::setup_locked).
	if (direct_)
		return direct_->start(mode == StartMode::fresh);
	auto features = device_.negotiated_features();
	if (!features)
		return features.error();
	bool event_idx = *features & (uint64_t{1} << vring::f_event_idx);
	for (uint32_t i = 0; i < workers_.size(); ++i) {
		if (auto st = start_queue(i, event_idx, mode); !st) {
			// After an IOTLB update the other queues go on; the driver
			// learns of this one when its requests get no answer.
			if (mode == StartMode::resume) {
				spdlog::error("{}", st.error().message);
				workers_[i]->discard_in_flight();
				continue;
			}
			// A queue that cannot be served must not be answered as
			// running; taking over from a log we cannot trust would
			// serve wrong data.
			stop_queues();
			return st;
		}
	}
	return {};
}

void DeviceServer::stop_queues(StopMode mode)
{
	if (direct_)
		direct_->stop();
	for (auto &worker : workers_)
		worker->request_stop(mode);
	for (auto &worker : workers_)
		worker->stop(mode);
}

unsigned DeviceServer::detached_requests() const
{
	unsigned count = 0;
	for (const auto &worker : workers_)
		count += worker->detached_requests();
	return count;
}

unsigned DeviceServer::requests_before_remap() const
{
	unsigned count = 0;
	for (const auto &worker : workers_)
		count += worker->requests_before_remap();
	return count;
}

void DeviceServer::release_fences_when_done()
{
	// A request detached at a reset may write into either.
	if (detached_requests() > 0)
		return;
	if (iotlb_.retired() && requests_before_remap() == 0) {
		iotlb_.release_retired();
		spdlog::info("{}: the requests in flight across an IOTLB change finished; the "
		             "memory they used is released",
		             spec_.name);
	}
	if (!iotlb_.fenced())
		return;
	iotlb_.release_fences();
	spdlog::info("{}: the requests left running after a reset finished; their memory "
	             "is released",
	             spec_.name);
}

Status DeviceServer::set_device_status(uint8_t status)
{
	uint8_t old_status = device_status_;
	bool was_running = old_status & VIRTIO_CONFIG_S_DRIVER_OK;
	bool runs = status & VIRTIO_CONFIG_S_DRIVER_OK;
	spdlog::debug("{}: device status {:#x} -> {:#x}", spec_.name, device_status_, status);
	device_status_ = status;
	// A reset voids every request in flight (and must be answered within
	// the kernel's message timeout, whatever a server does); any other
	// status without DRIVER_OK only stops the queues.
	if (!runs && was_running)
		stop_queues(status == 0 ? StopMode::abandon : StopMode::drain);
	if (status == 0) {
		// A reset: the rings and everything mapped are gone.
		for (uint32_t i = 0; i < workers_.size(); ++i) {
			workers_[i]->set_last_avail(0);
			inflight_.queue(i).reset(0);
		}
		backend_->memory_invalidated(0, UINT64_MAX);
		release_fences_when_done();
		unsigned detached = detached_requests();
		if (detached > 0)
			spdlog::warn("{}: {} request(s) left running in the backend after the "
			             "reset: the memory they may still write into is fenced "
			             "until they finish",
			             spec_.name, detached);
		iotlb_.invalidate(0, UINT64_MAX,
		                  detached > 0 ? Iotlb::Invalidation::fence
		                               : Iotlb::Invalidation::unmap);
		// Registered again at the next driver's first I/O.
		iotlb_.release_bounce_memory();
		status_.set_device(spec_.name + " is reset, waiting for a driver");
	}
	// Logged before the queues start: a successor that finds DRIVER_OK
	// takes them over, and finds none taken if we die before starting.
	inflight_.set_device_status(status);
	if (runs && !was_running) {
		if (auto st = start_queues(StartMode::fresh); !st) {
			// Answered FAILED: the kernel keeps the old status, and so do we.
			device_status_ = old_status;
			inflight_.set_device_status(old_status);
			return with_context("DRIVER_OK refused", st.error());
		}
		status_.set_device("serving " + spec_.name + " with " +
		                   std::to_string(spec_.queues) + " queue(s)");
	}
	return {};
}

Status DeviceServer::handle_message()
{
	auto request = device_.read_request();
	if (!request)
		return request.error();
	if (!*request)
		return {};
	const vduse_dev_request &req = **request;
	vduse_dev_response resp{};
	resp.request_id = req.request_id;
	resp.result = VDUSE_REQ_RESULT_OK;
	switch (req.type) {
	case VDUSE_GET_VQ_STATE:
		if (req.vq_state.index < workers_.size()) {
			resp.vq_state.index = req.vq_state.index;
			resp.vq_state.split.avail_index =
			        workers_[req.vq_state.index]->last_avail();
		} else {
			resp.result = VDUSE_REQ_RESULT_FAILED;
		}
		break;
	case VDUSE_SET_STATUS:
		if (auto st = set_device_status(req.s.status); !st) {
			spdlog::error("{}", st.error().message);
			resp.result = VDUSE_REQ_RESULT_FAILED;
		}
		break;
	case VDUSE_UPDATE_IOTLB:
		update_iotlb(req.iova.start, req.iova.last);
		break;
	default:
		spdlog::warn("{}: unknown message type {} from the kernel", spec_.name, req.type);
		resp.result = VDUSE_REQ_RESULT_FAILED;
	}
	return device_.write_response(resp);
}

void DeviceServer::update_iotlb(uint64_t first, uint64_t last)
{
	release_fences_when_done();
	bool running = device_status_ & VIRTIO_CONFIG_S_DRIVER_OK;
	// A new memory table that leaves what we mapped as it was (a VMM that
	// adds a region; the kernel says "everything changed") stops nothing:
	// requests that wait for a server keep waiting, and the kernel is
	// answered at once. A queue whose rings were not mapped before may be
	// now.
	if (iotlb_.unchanged(first, last)) {
		spdlog::debug("{}: IOTLB update {:#x}-{:#x}: what is mapped is unchanged",
		              spec_.name, first, last);
		if (running && !direct_ &&
		    std::any_of(workers_.begin(), workers_.end(),
		                [](const auto &w) { return !w->running(); }))
			(void)start_queues(StartMode::resume);
		return;
	}
	// Workers hold pointers into the mappings: stop them while unmapping and
	// let them map the rings again. The requests in flight go on where the
	// backend allows it: their mappings are kept until they finish, so that
	// the kernel is answered at once whatever a server does.
	bool survive = backend_->requests_survive_remap();
	if (running)
		stop_queues(survive ? StopMode::pause : StopMode::give_up);
	backend_->memory_invalidated(first, last);
	iotlb_.invalidate(first, last,
	                  requests_before_remap() > 0 ? Iotlb::Invalidation::retire
	                                              : Iotlb::Invalidation::unmap);
	if (running) {
		if (auto st = start_queues(StartMode::resume); !st)
			spdlog::error("{}", st.error().message);
	}
}

Status DeviceServer::resize(uint64_t size_bytes)
{
	if (size_bytes == 0 || size_bytes % spec_.block_size != 0)
		return failure(spec_.name + ": size " + std::to_string(size_bytes) +
		               " is not a positive multiple of the block size");
	uint64_t sectors = size_bytes / 512;
	// Requests are checked against the new capacity before the driver
	// hears of it: a grown device's new blocks are served at once.
	live_.capacity_sectors.store(sectors, std::memory_order_relaxed);
	uint64_t le = htole64(sectors);
	if (auto st = device_.set_config(offsetof(virtio_blk_config, capacity), &le, sizeof(le));
	    !st)
		return st;
	auto told = device_.inject_config_irq();
	if (!told)
		return told.error();
	spdlog::info("{}: resized from {} to {} bytes{}", spec_.name, spec_.size_bytes, size_bytes,
	             *told ? "" : " (no driver yet: it reads the size when it starts)");
	spec_.size_bytes = size_bytes;
	if (VhostUserLink *link = backend_->vhost_user_link())
		link->set_device_size(size_bytes);
	return {};
}

Status DeviceServer::run(int signal_fd, const ControlHooks &hooks)
{
	// Under systemd with WatchdogSec=, ping at half the interval from this
	// thread: a control thread stuck anywhere gets the daemon restarted.
	uint64_t watchdog_usec = 0;
	bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0;
	int watchdog_ms = watchdog ? static_cast<int>(watchdog_usec / 2000) : -1;
	VhostUserLink *link = backend_->vhost_user_link();
	int target_changed = link ? link->target_changed_fd() : -1;
	// A negative fd is not polled (poll(2)).
	std::array<pollfd, 3> fds{
	        {{device_.fd(), POLLIN, 0}, {signal_fd, POLLIN, 0}, {target_changed, POLLIN, 0}}};
	bool retrying = false;
	for (;;) {
		if (watchdog)
			sd_notify(0, "WATCHDOG=1");
		release_fences_when_done();
		if (hooks.retry)
			retrying = hooks.retry();
		// Fenced and retired memory is looked at every second until it
		// can go; what a hook retries, five times a second.
		int timeout_ms = watchdog_ms;
		if (iotlb_.fenced() || iotlb_.retired())
			timeout_ms = timeout_ms < 0 ? 1000 : std::min(timeout_ms, 1000);
		if (retrying)
			timeout_ms = timeout_ms < 0 ? 200 : std::min(timeout_ms, 200);
		if (::poll(fds.data(), fds.size(), timeout_ms) < 0) {
			if (errno == EINTR)
				continue;
			return errno_error("poll");
		}
		if (fds[1].revents & POLLIN) {
			signalfd_siginfo info{};
			if (::read(signal_fd, &info, sizeof(info)) != sizeof(info))
				continue;
			int signo = static_cast<int>(info.ssi_signo);
			if (signo == SIGUSR1 || signo == SIGUSR2) {
				run_debug_hook(signo);
				continue;
			}
			if (signo == SIGHUP) {
				if (hooks.reload)
					hooks.reload();
				continue;
			}
			spdlog::info("{}: stopping on signal {}", spec_.name, strsignal(signo));
			return {};
		}
		if (fds[2].revents & POLLIN) {
			uint64_t count = 0;
			if (::read(target_changed, &count, sizeof(count)) == sizeof(count) &&
			    hooks.target_changed)
				hooks.target_changed();
		}
		if (fds[0].revents & (POLLERR | POLLHUP)) {
			// drivers/vdpa/vdpa_user/vduse_dev.c: a message not answered
			// within msg_timeout marks the device broken for good.
			Error broken = failure(spec_.name + ": " + broken_device_text);
			broken.code = EPERM;
			return broken;
		}
		if (fds[0].revents & POLLIN) {
			if (auto st = handle_message(); !st)
				return st;
		}
	}
}

void DeviceServer::run_debug_hook(int signo)
{
	if (!tuning_.debug_hooks) {
		spdlog::info("{}: SIG{} ignored", spec_.name, sigabbrev_np(signo));
		return;
	}
	if (signo == SIGUSR1) {
		// Die between taking the next request and completing it.
		spdlog::warn("{}: debug hook: dying after the next request is taken", spec_.name);
		hooks_.die_after_next_request.store(true);
		return;
	}
	// A control thread that hangs, as a deadlock would: the watchdog must
	// notice. Nothing here ever returns.
	spdlog::warn("{}: debug hook: freezing the control thread", spec_.name);
	for (;;)
		::pause();
}

} // namespace vduse
