// One connection to an NBD server and the thread that drives it. Queue
// workers start commands on it (under its lock, so libnbd writes them at
// once); the thread reads the replies and completes them. When the
// connection is lost, the commands it had (libnbd fails them with ENOTCONN)
// and any started meanwhile are held; the thread reconnects with backoff and
// starts them again. After the reconnect timeout (if any) the held commands
// fail, and so do new ones until the server is back.
#pragma once

#include "base/unique_fd.h"
#include "link_reporter.h"
#include "remote/nbd_client.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <spdlog/logger.h>
#include <string>
#include <thread>
#include <vector>

namespace vduse
{

class NbdConnection;

struct NbdOp {
	enum class Kind : uint8_t { read, write, flush, trim, zero };
	Kind kind = Kind::read;
	uint64_t offset = 0;
	uint64_t length = 0;
	void *buffer = nullptr; // read and write
	uint32_t flags = 0;     // LIBNBD_CMD_FLAG_*
	// Called once, on the connection's thread or the starter's, with 0 or
	// the errno the server answered; the op may be reused after it.
	std::function<void(int error)> done;
	NbdConnection *connection = nullptr; // set while the connection has it
	// Set by the op's owner when the driver took the buffers back: the op
	// is not held for a server any more but done with ECANCELED.
	const std::atomic<bool> *cancelled = nullptr;
	bool is_cancelled() const
	{
		return cancelled && cancelled->load(std::memory_order_acquire);
	}
};

class NbdConnection
{
public:
	struct Settings {
		std::string uri;
		std::chrono::seconds reconnect_timeout{0}; // 0: for ever
		// Commands on the wire with no reply for this long: the server
		// is taken for gone (stopped, or its host unreachable without a
		// word), the connection severed and made again. 0: for ever.
		std::chrono::seconds io_timeout{0};
		// A server on a unix socket must run as this user (or root).
		std::optional<uid_t> socket_owner;
		size_t index = 0; // for the reporter and the log
	};
	NbdConnection(Settings settings, LinkReporter &reporter,
	              std::shared_ptr<spdlog::logger> log);
	~NbdConnection();
	NbdConnection(const NbdConnection &) = delete;
	NbdConnection &operator=(const NbdConnection &) = delete;

	// Starts the thread (which connects). Fails only if the process is out
	// of resources.
	Status start();
	// Any thread. op stays untouched until op.done is called.
	void submit(NbdOp &op);
	// A server fixes an export's size for the life of a connection (NBD
	// sends it once, in the handshake, and libnbd and nbdkit check every
	// command against it). So: hold new commands, let those on the wire
	// finish, connect again, and return the size the new connection has.
	// Fails if no new connection comes within timeout (the connection
	// goes on trying as it would after a loss).
	Result<uint64_t> refresh(std::chrono::milliseconds timeout);
	// Any thread, when the driver reset the device: the held ops whose
	// owner cancelled them are done now with ECANCELED. If commands are on
	// the wire, the connection is severed (shutdown of its socket, as if
	// the server had gone): a server that stopped answering cannot hold the
	// reset, and no reply can land in a buffer after libnbd failed its
	// command (ENOTCONN). Cancelled ops are then done, never sent again;
	// the others are held and sent on the next connection, as after any
	// loss.
	void cancel();
	// Any thread: the largest read or write the server takes (its
	// maximum block size, learnt at each connection); 0: it named none.
	uint64_t max_request() const { return max_request_.load(std::memory_order_relaxed); }

private:
	void run();
	void connect_once(std::chrono::steady_clock::time_point &next_try,
	                  std::chrono::milliseconds &backoff);
	void drive();
	// With mutex_ held:
	void issue(NbdOp &op);
	void lost(const std::string &why);
	void fail_held();
	void wake();
	static int on_reply(void *user_data, int *error);
	// With mutex_ held: lost() if libnbd found the connection dead.
	void check_alive();
	// With mutex_ held: closes the connection for refresh() once nothing
	// is on the wire.
	void close_for_refresh();
	// With mutex_ held: closes the connection; the thread connects again.
	void drop_handle();
	// With mutex_ held: how long drive() may wait (-1: no limit), and the
	// connection severed if commands went without a reply for io_timeout.
	int check_replies();
	// With mutex_ held: shuts the socket down under libnbd, which then
	// fails what was on the wire with ENOTCONN (on_reply).
	void sever();

	Settings settings_;
	LinkReporter &reporter_;
	std::shared_ptr<spdlog::logger> log_;
	UniqueFd wake_fd_;
	std::thread thread_;
	std::atomic<bool> stopping_{false};
	std::atomic<uint64_t> max_request_{0};
	std::string last_failure_; // the thread's: why the last connect failed, logged once

	std::mutex mutex_;
	NbdHandle handle_;          // null while disconnected
	std::vector<NbdOp *> held_; // waiting for a connection
	bool failed_ = false;       // the reconnect timeout expired
	std::chrono::steady_clock::time_point down_since_;
	bool ever_connected_ = false;
	bool refresh_wanted_ = false; // hold commands; reconnect when idle
	// The last reply, or when the wire went from idle to busy: what
	// Settings::io_timeout counts from.
	std::chrono::steady_clock::time_point last_progress_;
	uint64_t generation_ = 0; // bumps at every new connection
	std::condition_variable connected_;
};

} // namespace vduse
