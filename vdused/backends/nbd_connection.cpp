#include "nbd_connection.h"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <utility>

namespace vduse
{

namespace
{

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

constexpr auto backoff_first = 50ms;
constexpr auto backoff_max = 2s;
constexpr auto connect_timeout = 10s;

// What libnbd says when the connection, not the request, failed
// (generator/states.c, nbd_internal_abort_commands: ENOTCONN); a server
// shutting down answers ESHUTDOWN (NBD_ESHUTDOWN).
bool connection_error(int error)
{
	return error == ENOTCONN || error == ESHUTDOWN || error == ECONNRESET || error == EPIPE;
}

} // namespace

NbdConnection::NbdConnection(Settings settings, LinkReporter &reporter,
                             std::shared_ptr<spdlog::logger> log)
        : settings_(std::move(settings)), reporter_(reporter), log_(std::move(log)),
          down_since_(clock::now())
{
}

NbdConnection::~NbdConnection()
{
	if (thread_.joinable()) {
		stopping_.store(true);
		wake();
		thread_.join();
	}
	std::lock_guard lock(mutex_);
	// Workers stop only once nothing is in flight, so nothing can be held.
	handle_.reset();
}

Status NbdConnection::start()
{
	wake_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (!wake_fd_)
		return errno_error("cannot create an eventfd");
	thread_ = std::thread([this] { run(); });
	return {};
}

void NbdConnection::wake()
{
	uint64_t one = 1;
	(void)!::write(wake_fd_.get(), &one, sizeof(one));
}

void NbdConnection::submit(NbdOp &op)
{
	std::lock_guard lock(mutex_);
	if (!handle_ || refresh_wanted_) {
		if (failed_)
			op.done(EIO);
		else if (op.is_cancelled())
			op.done(ECANCELED);
		else
			held_.push_back(&op);
		return;
	}
	issue(op);
	check_alive();
	// libnbd sends what it can at once; the rest waits for POLLOUT, which
	// the thread polls for only if told. The thread takes up the reply
	// deadline a command on an idle wire starts at its next look, within
	// io_timeout (check_replies): no wake-up per request at QD1.
	if (handle_ && (nbd_aio_get_direction(handle_.get()) & LIBNBD_AIO_DIRECTION_WRITE))
		wake();
}

void NbdConnection::check_alive()
{
	if (handle_ && (nbd_aio_is_dead(handle_.get()) || nbd_aio_is_closed(handle_.get())))
		lost(nbd_last_error());
}

// libnbd calls back on the thread that drives the handle, with mutex_ held
// (every libnbd call here is made under it): a lost connection puts the op
// back among the held ones.
int NbdConnection::on_reply(void *user_data, int *error)
{
	auto *op = static_cast<NbdOp *>(user_data);
	NbdConnection *self = std::exchange(op->connection, nullptr);
	self->last_progress_ = clock::now();
	if (connection_error(*error) && op->is_cancelled())
		op->done(ECANCELED);
	else if (connection_error(*error) && !self->stopping_.load())
		self->held_.push_back(op);
	else
		op->done(*error);
	return 1;
}

void NbdConnection::cancel()
{
	std::lock_guard lock(mutex_);
	std::vector<NbdOp *> cancelled;
	std::erase_if(held_, [&](NbdOp *op) {
		if (!op->is_cancelled())
			return false;
		cancelled.push_back(op);
		return true;
	});
	for (NbdOp *op : cancelled)
		op->done(ECANCELED);
	if (!handle_)
		return;
	int on_wire = nbd_aio_in_flight(handle_.get());
	if (on_wire <= 0)
		return;
	log_->info("connection {} to {}: severed with {} request(s) on the wire, for a reset",
	           settings_.index, settings_.uri, on_wire);
	sever();
}

void NbdConnection::sever()
{
	int fd = nbd_aio_get_fd(handle_.get());
	if (fd < 0)
		return;
	// The connection's thread sees the end of the stream, and libnbd fails
	// what was on the wire with ENOTCONN (on_reply).
	(void)::shutdown(fd, SHUT_RDWR);
	wake();
}

int NbdConnection::check_replies()
{
	if (!handle_ || settings_.io_timeout.count() == 0)
		return -1;
	int on_wire = nbd_aio_in_flight(handle_.get());
	// A command started meanwhile is looked at within its io_timeout.
	if (on_wire <= 0)
		return static_cast<int>(
		        std::chrono::duration_cast<std::chrono::milliseconds>(settings_.io_timeout)
		                .count());
	auto quiet = clock::now() - last_progress_;
	if (quiet < settings_.io_timeout) {
		auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
		        settings_.io_timeout - quiet);
		return static_cast<int>(left.count()) + 1;
	}
	log_->warn("connection {} to {}: no reply for {} s with {} request(s) on the wire; "
	           "severing it and connecting again",
	           settings_.index, settings_.uri, settings_.io_timeout.count(), on_wire);
	sever();
	// Counted again from now: the severed socket ends at the next poll.
	last_progress_ = clock::now();
	return -1;
}

void NbdConnection::issue(NbdOp &op)
{
	op.connection = this;
	nbd_completion_callback cb{on_reply, &op, nullptr};
	nbd_handle *h = handle_.get();
	// The wire was idle: the wait for a reply starts now.
	if (nbd_aio_in_flight(h) <= 0)
		last_progress_ = clock::now();
	int64_t cookie = -1;
	switch (op.kind) {
	case NbdOp::Kind::read:
		cookie = nbd_aio_pread(h, op.buffer, op.length, op.offset, cb, op.flags);
		break;
	case NbdOp::Kind::write:
		cookie = nbd_aio_pwrite(h, op.buffer, op.length, op.offset, cb, op.flags);
		break;
	case NbdOp::Kind::flush:
		cookie = nbd_aio_flush(h, cb, op.flags);
		break;
	case NbdOp::Kind::trim:
		cookie = nbd_aio_trim(h, op.length, op.offset, cb, op.flags);
		break;
	case NbdOp::Kind::zero:
		cookie = nbd_aio_zero(h, op.length, op.offset, cb, op.flags);
		break;
	}
	if (cookie >= 0)
		return;
	// Not queued: libnbd will not call back.
	op.connection = nullptr;
	int error = nbd_get_errno();
	if (nbd_aio_is_dead(h) || nbd_aio_is_closed(h) || connection_error(error)) {
		if (op.is_cancelled())
			op.done(ECANCELED);
		else
			held_.push_back(&op);
		lost(nbd_last_error());
		return;
	}
	log_->warn("NBD command refused: {}", nbd_last_error());
	op.done(error ? error : EIO);
}

void NbdConnection::lost(const std::string &why)
{
	if (!handle_)
		return;
	log_->warn("connection {} to {} lost ({}); {} request(s) held, reconnecting",
	           settings_.index, settings_.uri, why.empty() ? "closed" : why, held_.size());
	drop_handle();
}

void NbdConnection::drop_handle()
{
	handle_.reset();
	down_since_ = clock::now();
	reporter_.report(settings_.index, LinkState::reconnecting);
	wake();
}

void NbdConnection::close_for_refresh()
{
	if (!refresh_wanted_ || !handle_ || nbd_aio_in_flight(handle_.get()) > 0)
		return;
	log_->info("connection {} to {} closed to learn the export's size; {} request(s) held",
	           settings_.index, settings_.uri, held_.size());
	drop_handle();
}

Result<uint64_t> NbdConnection::refresh(std::chrono::milliseconds timeout)
{
	std::unique_lock lock(mutex_);
	uint64_t before = generation_;
	refresh_wanted_ = true;
	close_for_refresh();
	wake();
	if (!connected_.wait_for(lock, timeout,
	                         [&] { return generation_ != before && handle_ != nullptr; }))
		return failure("connection " + std::to_string(settings_.index) + " to " +
		               settings_.uri + " did not come back within " +
		               std::to_string(timeout.count()) + " ms");
	int64_t size = nbd_get_size(handle_.get());
	if (size < 0)
		return failure("connection " + std::to_string(settings_.index) + ": " +
		               nbd_last_error());
	return static_cast<uint64_t>(size);
}

void NbdConnection::fail_held()
{
	if (!held_.empty())
		log_->error("connection {}: no server for {} s; failing {} request(s)",
		            settings_.index, settings_.reconnect_timeout.count(), held_.size());
	std::vector<NbdOp *> held;
	held.swap(held_);
	for (NbdOp *op : held)
		op->done(EIO);
}

void NbdConnection::run()
{
	// "nbd-conn0"...: what top -H and ps -L show for the thread.
	std::string thread_name = "nbd-conn" + std::to_string(settings_.index);
	(void)::pthread_setname_np(::pthread_self(), thread_name.c_str());
	auto next_try = clock::now();
	std::chrono::milliseconds backoff = backoff_first;
	while (!stopping_.load()) {
		bool connected;
		{
			std::lock_guard lock(mutex_);
			connected = handle_ != nullptr;
		}
		if (connected)
			drive();
		else
			connect_once(next_try, backoff);
	}
}

void NbdConnection::connect_once(clock::time_point &next_try, std::chrono::milliseconds &backoff)
{
	auto now = clock::now();
	{
		std::lock_guard lock(mutex_);
		auto limit = settings_.reconnect_timeout;
		if (!failed_ && limit.count() > 0 && now - down_since_ >= limit) {
			failed_ = true;
			fail_held();
			reporter_.report(settings_.index, LinkState::failed);
		}
	}
	if (now < next_try) {
		auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_try - now);
		pollfd p{wake_fd_.get(), POLLIN, 0};
		(void)::poll(&p, 1, static_cast<int>(wait.count()) + 1);
		uint64_t count;
		(void)!::read(wake_fd_.get(), &count, sizeof(count));
		return;
	}
	auto h = nbd_connect_with_timeout(settings_.uri, connect_timeout, settings_.socket_owner);
	if (!h) {
		// Each new reason once (a server that is down, then a socket
		// served by the wrong user, ...).
		if (h.error().message != last_failure_) {
			last_failure_ = h.error().message;
			log_->warn("connection {}: {}; retrying", settings_.index, last_failure_);
		}
		next_try = clock::now() + backoff;
		backoff = std::min<std::chrono::milliseconds>(backoff * 2, backoff_max);
		return;
	}
	backoff = backoff_first;
	last_failure_.clear();
	std::lock_guard lock(mutex_);
	handle_ = std::move(*h);
	max_request_.store(nbd_export_info(handle_.get()).max_request, std::memory_order_relaxed);
	failed_ = false;
	refresh_wanted_ = false;
	++generation_;
	connected_.notify_all();
	log_->info("connection {} to {} {}; resubmitting {} request(s)", settings_.index,
	           settings_.uri, ever_connected_ ? "restored" : "established", held_.size());
	ever_connected_ = true;
	reporter_.report(settings_.index, LinkState::connected);
	std::vector<NbdOp *> held;
	held.swap(held_);
	for (NbdOp *op : held) {
		if (op->is_cancelled())
			op->done(ECANCELED);
		else if (handle_)
			issue(*op);
		else
			held_.push_back(op);
	}
}

void NbdConnection::drive()
{
	pollfd fds[2] = {{-1, 0, 0}, {wake_fd_.get(), POLLIN, 0}};
	int timeout_ms = -1;
	{
		std::lock_guard lock(mutex_);
		timeout_ms = check_replies();
		if (!handle_)
			return;
		fds[0].fd = nbd_aio_get_fd(handle_.get());
		unsigned dir = nbd_aio_get_direction(handle_.get());
		fds[0].events =
		        static_cast<short>(((dir & LIBNBD_AIO_DIRECTION_READ) ? POLLIN : 0) |
		                           ((dir & LIBNBD_AIO_DIRECTION_WRITE) ? POLLOUT : 0));
	}
	if (::poll(fds, 2, timeout_ms) < 0) {
		if (errno != EINTR)
			log_->error("poll: {}", std::strerror(errno));
		return;
	}
	if (fds[1].revents & POLLIN) {
		uint64_t count;
		(void)!::read(wake_fd_.get(), &count, sizeof(count));
	}
	std::lock_guard lock(mutex_);
	// A submitter may have found it dead, or even reconnected meanwhile.
	if (!handle_ || nbd_aio_get_fd(handle_.get()) != fds[0].fd)
		return;
	nbd_handle *h = handle_.get();
	short ev = fds[0].revents;
	int r = 0;
	if (ev & (POLLIN | POLLHUP | POLLERR))
		r = nbd_aio_notify_read(h);
	if (r >= 0 && (ev & POLLOUT))
		r = nbd_aio_notify_write(h);
	if (r < 0 || (ev & POLLNVAL))
		lost(nbd_last_error());
	check_alive();
	close_for_refresh();
}

} // namespace vduse
