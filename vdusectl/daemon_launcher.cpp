#include "daemon_launcher.h"

#include "base/pidfd.h"
#include "base/unique_fd.h"
#include "config.h"

#include <array>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <optional>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace vduse
{

namespace
{

std::string last_log_line(const fs::path &log)
{
	std::ifstream in(log);
	std::string line, last;
	while (std::getline(in, line))
		if (!line.empty())
			last = line;
	return last;
}

// The child: own session, log to the state directory, exec vdused.
[[noreturn]] void exec_daemon(const std::string &path, const StateDir &state,
                              const std::string &name, const std::string &notify_socket,
                              bool verbose)
{
	::setsid();
	int null = ::open("/dev/null", O_RDONLY);
	int log = ::open(state.daemon_log_path(name).c_str(), O_WRONLY | O_CREAT | O_APPEND, 0640);
	if (null >= 0)
		::dup2(null, STDIN_FILENO);
	if (log >= 0) {
		::dup2(log, STDOUT_FILENO);
		::dup2(log, STDERR_FILENO);
	}
	::setenv("NOTIFY_SOCKET", notify_socket.c_str(), 1);
	std::string dir = state.root().string();
	std::vector<const char *> argv{path.c_str(), name.c_str(), "--state-dir", dir.c_str()};
	if (verbose)
		argv.push_back("--verbose");
	argv.push_back(nullptr);
	::execv(path.c_str(), const_cast<char *const *>(argv.data()));
	(void)std::fprintf(stderr, "cannot execute %s: %s\n", path.c_str(), std::strerror(errno));
	::_exit(127);
}

struct Notification {
	pid_t sender = 0; // 0 if the kernel attached no credentials
	std::string text;
};

// One datagram from the notification socket, with its sender's pid.
std::optional<Notification> receive_notification(int fd)
{
	std::array<char, 4096> buf{};
	alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(ucred))> control{};
	iovec iov{buf.data(), buf.size()};
	msghdr msg{};
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control.data();
	msg.msg_controllen = control.size();
	ssize_t got = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	if (got < 0)
		return std::nullopt;
	Notification n;
	n.text.assign(buf.data(), static_cast<size_t>(got));
	for (cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(ucred))) {
			ucred cred{};
			std::memcpy(&cred, CMSG_DATA(c), sizeof(cred));
			n.sender = cred.pid;
		}
	}
	return n;
}

} // namespace

std::string find_vdused()
{
	if (const char *env = std::getenv("VDUSED"); env && *env)
		return env;
	std::error_code ec;
	fs::path self = fs::read_symlink("/proc/self/exe", ec);
	if (!ec) {
		fs::path beside = self.parent_path() / "vdused";
		if (::access(beside.c_str(), X_OK) == 0)
			return beside.string();
	}
	return VDUSE_INSTALL_VDUSED;
}

Result<pid_t> start_daemon(const StateDir &state, const std::string &name, bool verbose,
                           std::chrono::milliseconds timeout)
{
	std::string path = find_vdused();
	if (::access(path.c_str(), X_OK) != 0)
		return errno_error(name + ": cannot run vdused at " + path +
		                   " (set $VDUSED to its path)");

	UniqueFd sock(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
	if (!sock)
		return errno_error("cannot create the notification socket");
	// An abstract socket: nothing to clean up in the file system.
	std::string abstract = "vdusectl/" + std::to_string(::getpid()) + "/" + name;
	sockaddr_un addr{};
	addr.sun_family = AF_UNIX;
	std::memcpy(addr.sun_path + 1, abstract.data(),
	            std::min(abstract.size(), sizeof(addr.sun_path) - 2));
	auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + abstract.size());
	if (::bind(sock.get(), reinterpret_cast<sockaddr *>(&addr), len) < 0)
		return errno_error("cannot bind the notification socket");
	// Anyone can send to an abstract socket: the kernel attaches each
	// sender's credentials, and only our child's READY counts.
	int on = 1;
	if (::setsockopt(sock.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0)
		return errno_error("cannot ask for the senders' credentials");

	pid_t pid = ::fork();
	if (pid < 0)
		return errno_error("cannot fork");
	if (pid == 0)
		exec_daemon(path, state, name, "@" + abstract, verbose);

	UniqueFd pidfd = open_pidfd(pid);
	bool warned = false;
	auto deadline = std::chrono::steady_clock::now() + timeout;
	for (;;) {
		auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
		        deadline - std::chrono::steady_clock::now());
		if (left.count() <= 0) {
			::kill(pid, SIGKILL);
			::waitpid(pid, nullptr, 0);
			return Error{ETIMEDOUT, name + ": vdused did not report ready within " +
			                                std::to_string(timeout.count()) + " ms"};
		}
		std::array<pollfd, 2> fds{{{sock.get(), POLLIN, 0}, {pidfd.get(), POLLIN, 0}}};
		int n = ::poll(fds.data(), pidfd ? 2 : 1,
		               static_cast<int>(std::min<int64_t>(left.count(), 100)));
		if (n < 0 && errno != EINTR)
			return errno_error("poll");
		for (;;) {
			auto message = receive_notification(sock.get());
			if (!message)
				break;
			if (message->sender != pid) {
				if (!warned)
					spdlog::warn(
					        "{}: ignoring a notification from pid {}, not from "
					        "the vdused started (pid {})",
					        name, message->sender, pid);
				warned = true;
				continue;
			}
			if (message->text.find("READY=1") != std::string::npos)
				return pid;
		}
		int status = 0;
		if (::waitpid(pid, &status, WNOHANG) == pid) {
			std::string why = WIFEXITED(status)
			                          ? "exited with status " +
			                                    std::to_string(WEXITSTATUS(status))
			                          : std::string("was killed by signal ") +
			                                    strsignal(WTERMSIG(status));
			std::string last = last_log_line(state.daemon_log_path(name));
			std::string message = name + ": vdused " + why + " before it was ready";
			if (!last.empty())
				message += ": " + last;
			return Error{ECHILD, message};
		}
	}
}

Status stop_daemon(pid_t pid, const std::string &name, std::chrono::milliseconds timeout)
{
	if (pid <= 0 || !daemon_alive(pid, name))
		return {};
	UniqueFd pidfd = open_pidfd(pid);
	::kill(pid, SIGTERM);
	pollfd fd{pidfd.get(), POLLIN, 0};
	if (!pidfd || ::poll(&fd, 1, static_cast<int>(timeout.count())) <= 0) {
		::kill(pid, SIGKILL);
		if (pidfd)
			(void)::poll(&fd, 1, 5000);
	}
	// Reap it if it is our child (it is when add fails half-way).
	::waitpid(pid, nullptr, WNOHANG);
	return {};
}

bool daemon_alive(pid_t pid, const std::string &name)
{
	if (pid <= 0 || ::kill(pid, 0) < 0)
		return false;
	// Guard against a reused pid: the process must be a vdused serving name.
	std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
	std::string arg;
	bool is_vdused = false, serves = false;
	while (std::getline(in, arg, '\0')) {
		if (!is_vdused) {
			is_vdused = fs::path(arg).filename().string().find("vdused") !=
			            std::string::npos;
			continue;
		}
		if (arg == name)
			serves = true;
	}
	// A zombie has an empty cmdline.
	return is_vdused && serves;
}

} // namespace vduse
