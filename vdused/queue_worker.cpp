#include "queue_worker.h"

#include "iovec.h"

#include <cstring>
#include <poll.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>

namespace vduse
{

QueueWorker::QueueWorker(const VduseDevice &device, uint32_t index,
                         std::unique_ptr<QueueBackend> backend, const BlkGeometry &geometry,
                         std::chrono::nanoseconds poll_window)
        : device_(device), index_(index), backend_(std::move(backend)), geometry_(geometry),
          poll_window_(poll_window)
{
}

QueueWorker::~QueueWorker()
{
	stop();
}

Status QueueWorker::start(Iotlb &iotlb, const RingAddresses &rings, bool event_idx,
                          uint16_t last_avail)
{
	if (running())
		return {};
	memory_ = std::make_unique<IotlbCache>(iotlb);
	if (!queue_.attach(*memory_, rings, event_idx, last_avail))
		return invalid(device_.name() + ": queue " + std::to_string(index_) +
		               ": rings at desc " + std::to_string(rings.desc) + " size " +
		               std::to_string(rings.size) + " are not mapped");
	kick_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	stop_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (!kick_fd_ || !stop_fd_)
		return errno_error("cannot create eventfds");
	if (auto st = device_.set_kick_fd(index_, kick_fd_.get()); !st)
		return st;
	set_last_avail(last_avail);
	thread_ = std::thread([this] { run(); });
	return {};
}

void QueueWorker::stop()
{
	if (!running())
		return;
	uint64_t one = 1;
	if (::write(stop_fd_.get(), &one, sizeof(one)) != sizeof(one))
		spdlog::error("{}: queue {}: cannot wake the worker: {}", device_.name(), index_,
		              std::strerror(errno));
	thread_.join();
	(void)device_.set_kick_fd(index_, VDUSE_EVENTFD_DEASSIGN);
	kick_fd_.reset();
	stop_fd_.reset();
}

void QueueWorker::run()
{
	std::array<pollfd, 2> fds{{{kick_fd_.get(), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}}};
	// Buffers may have arrived before the kick fd was installed.
	bool healthy = serve();
	while (healthy) {
		if (::poll(fds.data(), fds.size(), -1) < 0) {
			if (errno == EINTR)
				continue;
			spdlog::error("{}: queue {}: poll: {}", device_.name(), index_,
			              std::strerror(errno));
			return;
		}
		if (fds[1].revents)
			return;
		uint64_t count;
		if (::read(kick_fd_.get(), &count, sizeof(count)) < 0 && errno != EAGAIN)
			spdlog::warn("{}: queue {}: reading the kick: {}", device_.name(), index_,
			             std::strerror(errno));
		healthy = serve();
	}
	spdlog::error("{}: queue {}: the driver corrupted the avail ring; the queue is stopped "
	              "until reset",
	              device_.name(), index_);
	// Park until stopped.
	while (::poll(&fds[1], 1, -1) < 0 && errno == EINTR) {
	}
}

bool QueueWorker::serve()
{
	using clock = std::chrono::steady_clock;
	queue_.disable_kicks();
	auto last_work = clock::now();
	for (;;) {
		bool worked = false;
		if (!drain(worked))
			return false;
		// Polling a little while before sleeping saves the driver a kick and
		// us a wake-up when the next request follows closely.
		auto now = clock::now();
		if (worked)
			last_work = now;
		if (now - last_work < poll_window_) {
			// Let a submitter on this CPU run: it is what we wait for.
			sched_yield();
			continue;
		}
		if (!queue_.enable_kicks())
			return true;
		queue_.disable_kicks();
	}
}

bool QueueWorker::drain(bool &worked)
{
	bool healthy = true;
	for (;;) {
		PopResult result = queue_.pop(chain_);
		if (result == PopResult::empty)
			break;
		if (result == PopResult::broken) {
			healthy = false;
			break;
		}
		complete(chain_);
		worked = true;
	}
	if (worked) {
		set_last_avail(queue_.last_avail());
		if (queue_.need_interrupt()) {
			if (auto st = device_.inject_irq(index_); !st)
				spdlog::warn("{}", st.error().message);
		}
	}
	return healthy;
}

void QueueWorker::complete(const DescriptorChain &chain)
{
	uint8_t status = decode_blk_request(chain, geometry_, request_);
	if (chain.error != ChainError::none && bad_chains_++ < 10)
		spdlog::warn("{}: queue {}: bad descriptor chain at head {}: {}", device_.name(),
		             index_, chain.head, chain_error_name(chain.error));
	if (status == VIRTIO_BLK_S_OK) {
		if (request_.type == VIRTIO_BLK_T_GET_ID) {
			char id[VIRTIO_BLK_ID_BYTES] = {};
			std::memcpy(id, geometry_.serial.data(),
			            std::min(geometry_.serial.size(), sizeof(id)));
			iov_copy_in(request_.data, id,
			            std::min<uint64_t>(sizeof(id), request_.data_len));
		} else {
			status = backend_->execute(request_);
		}
	}
	if (request_.status)
		*request_.status = status;
	queue_.push(chain.head, blk_used_length(request_, status));
}

} // namespace vduse
