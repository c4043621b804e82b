#include "queue_worker.h"

#include "iovec.h"

#include <cstring>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>

namespace vduse {

QueueWorker::QueueWorker(const VduseDevice &device, uint32_t index, std::unique_ptr<QueueBackend> backend,
			 const BlkGeometry &geometry)
	: device_(device), index_(index), backend_(std::move(backend)), geometry_(geometry)
{
}

QueueWorker::~QueueWorker()
{
	stop();
}

Status QueueWorker::start(GuestMemory &memory, const RingAddresses &rings, bool event_idx, uint16_t last_avail)
{
	if (running())
		return {};
	if (!queue_.attach(memory, rings, event_idx, last_avail))
		return invalid(device_.name() + ": queue " + std::to_string(index_) + ": rings at desc " +
			       std::to_string(rings.desc) + " size " + std::to_string(rings.size) +
			       " are not mapped");
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
		spdlog::error("{}: queue {}: cannot wake the worker: {}", device_.name(), index_, std::strerror(errno));
	thread_.join();
	(void)device_.set_kick_fd(index_, VDUSE_EVENTFD_DEASSIGN);
	kick_fd_.reset();
	stop_fd_.reset();
}

void QueueWorker::run()
{
	std::array<pollfd, 2> fds{{{kick_fd_.get(), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}}};
	// Buffers may have arrived before the kick fd was installed.
	bool healthy = drain();
	while (healthy) {
		if (::poll(fds.data(), fds.size(), -1) < 0) {
			if (errno == EINTR)
				continue;
			spdlog::error("{}: queue {}: poll: {}", device_.name(), index_, std::strerror(errno));
			return;
		}
		if (fds[1].revents)
			return;
		uint64_t count;
		if (::read(kick_fd_.get(), &count, sizeof(count)) < 0 && errno != EAGAIN)
			spdlog::warn("{}: queue {}: reading the kick: {}", device_.name(), index_, std::strerror(errno));
		healthy = drain();
	}
	spdlog::error("{}: queue {}: the driver corrupted the avail ring; the queue is stopped until reset",
		      device_.name(), index_);
	// Park until stopped.
	while (::poll(&fds[1], 1, -1) < 0 && errno == EINTR) {
	}
}

bool QueueWorker::drain()
{
	bool healthy = true;
	do {
		queue_.disable_kicks();
		for (;;) {
			PopResult result = queue_.pop(chain_);
			if (result == PopResult::empty)
				break;
			if (result == PopResult::broken) {
				healthy = false;
				break;
			}
			complete(chain_);
		}
		set_last_avail(queue_.last_avail());
		if (queue_.need_interrupt()) {
			if (auto st = device_.inject_irq(index_); !st)
				spdlog::warn("{}", st.error().message);
		}
	} while (healthy && queue_.enable_kicks());
	return healthy;
}

void QueueWorker::complete(const DescriptorChain &chain)
{
	uint8_t status = decode_blk_request(chain, geometry_, request_);
	if (chain.error != ChainError::none && bad_chains_++ < 10)
		spdlog::warn("{}: queue {}: bad descriptor chain at head {}: {}", device_.name(), index_, chain.head,
			     chain_error_name(chain.error));
	if (status == VIRTIO_BLK_S_OK) {
		if (request_.type == VIRTIO_BLK_T_GET_ID) {
			char id[VIRTIO_BLK_ID_BYTES] = {};
			std::memcpy(id, geometry_.serial.data(), std::min(geometry_.serial.size(), sizeof(id)));
			iov_copy_in(request_.data, id, std::min<uint64_t>(sizeof(id), request_.data_len));
		} else {
			status = backend_->execute(request_);
		}
	}
	if (request_.status)
		*request_.status = status;
	queue_.push(chain.head, blk_used_length(request_, status));
}

} // namespace vduse
