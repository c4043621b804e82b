#include "queue_worker.h"

#include "daemon_log.h"
#include "vduse/irq_affinity.h"
#include "vduse/memory_faults.h"
#include "virtio/iovec.h"

#include <algorithm>
#include <array>
#include <csignal>
#include <cstring>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <systemd/sd-daemon.h>

namespace vduse
{

QueueWorker::QueueWorker(const VduseDevice &device, uint32_t index, uint16_t max_size,
                         std::unique_ptr<QueueBackend> backend, const BlkGeometry &geometry,
                         std::chrono::nanoseconds poll_window, QueueLog inflight, DebugHooks &hooks,
                         const LiveGeometry &live, LiveQueueStats &stats,
                         std::optional<unsigned> cpu)
        : device_(device), index_(index), max_size_(max_size), backend_(std::move(backend)),
          geometry_(geometry), live_(live), stats_(stats), poll_window_(poll_window), cpu_(cpu),
          log_(queue_logger(device.name(), index)), hooks_(hooks), inflight_(std::move(inflight))
{
}

QueueWorker::~QueueWorker()
{
	stop();
}

Status QueueWorker::start(Iotlb &iotlb, const RingAddresses &rings, bool event_idx,
                          uint16_t last_avail, StartMode mode)
{
	if (running())
		return {};
	// VDUSE does not check the ring size against the VDUSE_VQ_SETUP maximum
	// (drivers/vdpa/vdpa_user/vduse_dev.c, vduse_vdpa_set_vq_num); its
	// callers do (vhost-vdpa refuses VHOST_SET_VRING_NUM, virtio_vdpa asks
	// for the maximum), but the in-flight log and the backend are sized for
	// the maximum, so check rather than trust them.
	if (rings.size > max_size_)
		return failure(device_.name() + ": queue " + std::to_string(index_) +
		               ": the driver set a ring of " + std::to_string(rings.size) +
		               " descriptors, more than the queue's " + std::to_string(max_size_));
	memory_ = std::make_unique<IotlbCache>(iotlb);
	if (mode == StartMode::resume)
		last_avail = last_avail_.load(std::memory_order_acquire);
	if (!queue_.attach(*memory_, rings, event_idx, last_avail))
		return failure(device_.name() + ": queue " + std::to_string(index_) +
		               ": rings at desc " + std::to_string(rings.desc) + " size " +
		               std::to_string(rings.size) + " are not mapped");
	auto takeover = take_over_queue(queue_, inflight_, mode);
	if (!takeover)
		return with_context(device_.name() + ": queue " + std::to_string(index_),
		                    takeover.error());
	resubmit_ = std::move(takeover->resubmit);
	last_avail = takeover->last_avail;
	if (mode == StartMode::recover)
		log_->info("taking over at avail index {}, used index {}, {} "
		           "request(s) to resubmit{}",
		           last_avail, queue_.used_idx(), resubmit_.size(),
		           takeover->fixed_pending ? " (one completion was already published)"
		                                   : "");
	// After a pause the requests it left in flight are answered by this
	// run (VDUSE changes a ring's size only across a reset).
	bool paused =
	        std::any_of(slots_.begin(), slots_.end(), [](const Slot &s) { return s.busy; });
	if (mode != StartMode::resume || !paused || slots_.size() != rings.size) {
		slots_.assign(rings.size, Slot{});
		before_remap_.store(0, std::memory_order_release);
	}
	kick_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	stop_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (!kick_fd_ || !stop_fd_)
		return errno_error("cannot create eventfds");
	if (auto st = device_.set_kick_fd(index_, kick_fd_.get()); !st)
		return st;
	set_last_avail(last_avail);
	stop_requested_.store(false, std::memory_order_relaxed);
	// Only a reset mends a queue the driver broke, not an IOTLB update.
	if (mode != StartMode::resume) {
		broken_.clear();
		memory_lost_ = false;
	}
	memory_faults_seen_ = MemoryFaults::instance().count();
	thread_ = std::thread([this] { run(); });
	return {};
}

void QueueWorker::request_stop(StopMode mode)
{
	if (!running() || stopping())
		return;
	stop_mode_.store(mode, std::memory_order_relaxed);
	stop_requested_.store(true, std::memory_order_release);
	uint64_t one = 1;
	// discard_in_flight()'s thread has no stop eventfd and needs none.
	if (stop_fd_ && ::write(stop_fd_.get(), &one, sizeof(one)) != sizeof(one))
		log_->error("cannot wake the worker: {}", std::strerror(errno));
}

void QueueWorker::stop(StopMode mode)
{
	if (!running())
		return;
	request_stop(mode);
	thread_.join();
	(void)device_.set_kick_fd(index_, VDUSE_EVENTFD_DEASSIGN);
	kick_fd_.reset();
	stop_fd_.reset();
}

void QueueWorker::run()
{
	// "vq0", "vq1"...: what top -H, ps -L and perf show for the thread.
	std::string thread_name = "vq" + std::to_string(index_);
	(void)::pthread_setname_np(::pthread_self(), thread_name.c_str());
	pinned_ = false;
	if (cpu_) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(*cpu_, &set);
		if (int err = ::pthread_setaffinity_np(::pthread_self(), sizeof(set), &set);
		    err != 0)
			log_->warn("cannot run on CPU {}: {}", *cpu_, std::strerror(err));
		else
			pinned_ = true;
	}
	log_->debug("worker running");
	// poll ignores a negative fd: a backend without completions to wait for.
	std::array<pollfd, 3> fds{{{stop_fd_.get(), POLLIN, 0},
	                           {kick_fd_.get(), POLLIN, 0},
	                           {backend_->completion_fd(), POLLIN, 0}}};
	resubmit_recovered();
	if (backend_->in_flight() == 0)
		backend_->prepare();
	// Buffers may have arrived before the kick fd was installed.
	if (broken_.empty())
		serve();
	while (!stopping()) {
		int timeout = backend_->arm_completions() ? -1 : 0;
		unsigned in_flight = backend_->in_flight();
		auto asleep = std::chrono::steady_clock::now();
		if (::poll(fds.data(), fds.size(), timeout) < 0) {
			if (errno == EINTR)
				continue;
			log_->error("poll: {}", std::strerror(errno));
			break;
		}
		if (fds[0].revents & POLLIN)
			break;
		if (timeout < 0)
			poll_window_.slept(std::chrono::steady_clock::now() - asleep, in_flight);
		if (backend_->in_flight() == 0)
			backend_->prepare();
		uint64_t count = 0;
		if (fds[1].revents & POLLIN) {
			if (::read(kick_fd_.get(), &count, sizeof(count)) == sizeof(count))
				LiveQueueStats::add(stats_.kicks, count);
			else if (errno != EAGAIN)
				log_->warn("reading the kick: {}", std::strerror(errno));
		}
		if (broken_.empty()) {
			serve();
		} else {
			// Requests the backend still has are answered; nothing new is taken.
			bool worked = false;
			reap_backend(false, worked);
			interrupt_if_needed();
		}
	}
	StopMode mode = stop_mode_.load(std::memory_order_relaxed);
	if (mode == StopMode::pause) {
		// What is in flight stays with the backend, and with the slots.
		interrupt_if_needed();
		unsigned busy = 0;
		for (Slot &slot : slots_) {
			slot.before_remap = slot.busy;
			busy += slot.busy ? 1 : 0;
		}
		before_remap_.store(busy, std::memory_order_release);
		if (busy > 0)
			log_->info("paused for an IOTLB change with {} request(s) in flight: they "
			           "go on",
			           busy);
		return;
	}
	settle(mode, "the driver reset the device");
}

void QueueWorker::settle(StopMode mode, const char *reason)
{
	// Nothing may be in flight once the rings and buffers can go away.
	bool worked = false;
	abandoning_ = mode == StopMode::abandon;
	if (abandoning_ && backend_->in_flight() > 0) {
		log_->info("{} with {} request(s) in flight: they are dropped, unanswered", reason,
		           backend_->in_flight());
		backend_->abandon();
		if (unsigned left = backend_->detached(); left > 0)
			log_->info("{} of them cannot be taken back from the backend: they run on, "
			           "unanswered",
			           left);
	} else if (mode == StopMode::give_up && backend_->in_flight() > 0) {
		log_->info("an IOTLB change with {} request(s) in flight at a backend that cannot "
		           "keep them across it: what does not finish in time fails",
		           backend_->in_flight());
		backend_->give_up();
	}
	while (backend_->in_flight() > 0)
		reap_backend(true, worked);
	if (!abandoning_)
		interrupt_if_needed();
	abandoning_ = false;
	// What abandon() detached is not the queue's any more.
	for (Slot &slot : slots_) {
		slot.busy = false;
		slot.before_remap = false;
	}
	before_remap_.store(0, std::memory_order_release);
}

void QueueWorker::discard_in_flight()
{
	if (running() ||
	    std::none_of(slots_.begin(), slots_.end(), [](const Slot &s) { return s.busy; }))
		return;
	thread_ = std::thread([this] {
		settle(StopMode::abandon, "the queue cannot run again after the IOTLB change (its "
		                          "rings are not mapped)");
	});
}

bool QueueWorker::stopping() const
{
	return stop_requested_.load(std::memory_order_acquire);
}

void QueueWorker::break_queue(std::string reason)
{
	log_->error("{}; the queue is stopped until the driver resets the device", reason);
	sd_notifyf(0, "STATUS=%s: queue %u stopped: %s; waiting for a reset",
	           device_.name().c_str(), index_, reason.c_str());
	broken_ = std::move(reason);
}

void QueueWorker::serve()
{
	using clock = std::chrono::steady_clock;
	queue_.disable_kicks();
	backend_->quiet_completions();
	auto last_work = clock::now();
	// A driver that keeps the ring busy never lets it go idle: the stop
	// request is checked at every round, so the control thread is not held.
	while (!stopping()) {
		bool worked = false;
		take_available(worked);
		reap_backend(false, worked);
		interrupt_if_needed();
		if (!broken_.empty())
			return;
		// Polling a little while before sleeping saves the driver a kick and
		// us a wake-up when the next request follows closely.
		auto now = clock::now();
		if (worked)
			last_work = now;
		if (now - last_work < poll_window_.current(backend_->in_flight())) {
			// Let a submitter on this CPU run: it is what we wait for.
			sched_yield();
			continue;
		}
		if (!queue_.enable_kicks())
			return;
		queue_.disable_kicks();
	}
}

void QueueWorker::resubmit_recovered()
{
	if (resubmit_.empty())
		return;
	for (uint16_t head : resubmit_) {
		log_->info("resubmitting the request at head {}", head);
		LiveQueueStats::add(stats_.resubmitted);
		queue_.read_chain(head, chain_);
		start_request(chain_);
	}
	resubmit_.clear();
	backend_->flush();
}

bool QueueWorker::memory_lost()
{
	uint64_t faults = MemoryFaults::instance().count();
	if (faults != memory_faults_seen_) {
		memory_faults_seen_ = faults;
		if (!memory_lost_ && broken_.empty())
			break_queue(spdlog::fmt_lib::format(
			        "the driver's memory at IOVA {:#x} is gone (SIGBUS: "
			        "the file behind its IOTLB region was shrunk)",
			        MemoryFaults::instance().last_iova()));
		memory_lost_ = true;
	}
	return memory_lost_;
}

void QueueWorker::take_available(bool &worked)
{
	if (memory_lost())
		return;
	bool took = false;
	// At most a ring's worth per round: the driver may refill it as fast
	// as we take.
	for (uint32_t n = 0; n < queue_.size() && broken_.empty(); ++n) {
		PopResult result = queue_.pop(chain_);
		if (result == PopResult::empty)
			break;
		if (result == PopResult::broken) {
			break_queue("the driver corrupted the avail ring (index " +
			            std::to_string(queue_.last_avail()) + ")");
			break;
		}
		if (hooks_.die_after_next_request.load(std::memory_order_relaxed) &&
		    hooks_.die_after_next_request.exchange(false)) {
			log_->warn("debug hook: dying after taking the request at "
			           "head {}",
			           chain_.head);
			(void)::raise(SIGKILL);
		}
		start_request(chain_);
		took = true;
	}
	if (took) {
		worked = true;
		backend_->flush();
		set_last_avail(queue_.last_avail());
	}
}

void QueueWorker::reap_backend(bool wait, bool &worked)
{
	if (backend_->in_flight() == 0)
		return;
	done_.clear();
	backend_->reap(done_, wait);
	for (const Completion &c : done_)
		finish(c.tag, c.status);
	if (!done_.empty())
		worked = true;
}

void QueueWorker::start_request(const DescriptorChain &chain)
{
	Slot &slot = slots_[chain.head];
	if (slot.busy) {
		// The buffers of the request in flight must stay intact, and
		// answering the head twice would confuse the driver.
		break_queue("the driver offered head " + std::to_string(chain.head) +
		            " again while it was in flight");
		return;
	}
	BlkRequest &req = slot.request;
	geometry_.capacity_sectors = live_.capacity_sectors.load(std::memory_order_relaxed);
	uint8_t status = decode_blk_request(chain, geometry_, req);
	if (!req.status) {
		// Completing it would let the driver read a stale status byte as
		// the answer.
		break_queue("the request at head " + std::to_string(chain.head) +
		            " has no status byte to answer in" +
		            (chain.error != ChainError::none
		                     ? std::string(" (") +
		                               std::string(chain_error_name(chain.error)) + ")"
		                     : std::string()));
		return;
	}
	slot.started_ns = latency_clock_ns();
	stats_.count_request(req.type, blk_bytes_moved(req));
	if (chain.error != ChainError::none && bad_chains_++ < 10)
		log_->warn("bad descriptor chain at head {}: {}", chain.head,
		           chain_error_name(chain.error));
	if (status == VIRTIO_BLK_S_OK && req.type == VIRTIO_BLK_T_GET_ID) {
		char id[VIRTIO_BLK_ID_BYTES] = {};
		std::memcpy(id, geometry_.serial.data(),
		            std::min(geometry_.serial.size(), sizeof(id)));
		iov_copy_in(req.data, id, std::min<uint64_t>(sizeof(id), req.data_len));
	} else if (status == VIRTIO_BLK_S_OK) {
		slot.busy = true;
		std::optional<uint8_t> result = backend_->submit(req, chain.head);
		if (!result)
			return;
		status = *result;
	}
	finish(chain.head, status);
}

void QueueWorker::finish(uint16_t head, uint8_t status)
{
	Slot &slot = slots_[head];
	slot.busy = false;
	if (std::exchange(slot.before_remap, false))
		before_remap_.fetch_sub(1, std::memory_order_release);
	stats_.count_completion(status, latency_clock_ns() - slot.started_ns);
	// The driver reset the device: its memory is not ours to write (a VM
	// may already reuse it). Or it is gone.
	if (abandoning_ || memory_lost())
		return;
	if (slot.request.status)
		*slot.request.status = status;
	queue_.push(head, blk_used_length(slot.request, status));
}

void QueueWorker::check_still_pinned()
{
	// A CPU going offline moves the threads pinned to it elsewhere, free to
	// run anywhere (kernel/sched/core.c, select_fallback_rq), and the
	// queue's interrupts, steered to that CPU alone, would make
	// VDUSE_VQ_INJECT_IRQ loop in the kernel (irq_affinity.h).
	int cpu = ::sched_getcpu();
	if (cpu < 0 || static_cast<unsigned>(cpu) == *cpu_)
		return;
	pinned_ = false;
	log_->warn("moved from CPU {} to CPU {} by the kernel (CPU {} offline?)", *cpu_, cpu,
	           *cpu_);
	keep_irq_affinity_online(device_.name(), index_);
}

void QueueWorker::interrupt_if_needed()
{
	if (queue_.need_interrupt()) {
		if (pinned_)
			check_still_pinned();
		if (auto st = device_.inject_irq(index_); !st)
			log_->warn("{}", st.error().message);
		else
			LiveQueueStats::add(stats_.interrupts);
	}
}

} // namespace vduse
