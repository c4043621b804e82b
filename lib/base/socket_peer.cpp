#include "base/socket_peer.h"

#include "base/pidfd.h"

#include <array>
#include <cerrno>
#include <charconv>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

// Linux 6.5 (include/uapi/asm-generic/socket.h); Debian 12's headers predate it.
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

namespace vduse
{

std::optional<uid_t> unix_peer_uid(int fd)
{
	sockaddr_storage addr{};
	socklen_t len = sizeof(addr);
	if (::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) < 0 ||
	    addr.ss_family != AF_UNIX)
		return std::nullopt;
	ucred cred{};
	socklen_t cred_len = sizeof(cred);
	if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) < 0 || cred.pid == 0)
		return std::nullopt;
	return cred.uid;
}

UniqueFd unix_peer_pidfd(int fd)
{
	int pidfd = -1;
	socklen_t len = sizeof(pidfd);
	// The kernel's reference to the peer: no pid to be reused in between.
	if (::getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0 && pidfd >= 0)
		return UniqueFd(pidfd);
	// Older kernels: the pid from SO_PEERCRED, alive while it serves us.
	ucred cred{};
	socklen_t cred_len = sizeof(cred);
	if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) < 0 || cred.pid <= 0)
		return {};
	return open_pidfd(cred.pid);
}

Status check_socket_peer(int fd, uid_t owner, const std::string &what)
{
	auto peer = unix_peer_uid(fd);
	if (!peer || *peer == owner || *peer == 0)
		return {};
	return failure(what + " is served by " + describe_user(*peer) +
	               ", not by its owner recorded at add, " + describe_user(owner) +
	               ": not connected (vdusectl add --socket-owner names another)");
}

std::string describe_user(uid_t uid)
{
	std::array<char, 4096> buffer{};
	passwd pw{};
	passwd *found = nullptr;
	if (::getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found) == 0 && found)
		return std::string(found->pw_name) + " (uid " + std::to_string(uid) + ")";
	return "uid " + std::to_string(uid);
}

Result<uid_t> parse_user(const std::string &text)
{
	if (text.empty())
		return usage_error("--socket-owner needs a user name or uid");
	uid_t uid = 0;
	const char *end = text.data() + text.size();
	auto [at, ec] = std::from_chars(text.data(), end, uid);
	if (ec == std::errc() && at == end && uid != static_cast<uid_t>(-1))
		return uid;
	std::array<char, 4096> buffer{};
	passwd pw{};
	passwd *found = nullptr;
	if (::getpwnam_r(text.c_str(), &pw, buffer.data(), buffer.size(), &found) == 0 && found)
		return found->pw_uid;
	return usage_error("--socket-owner '" + text + "' is not a user on this system");
}

} // namespace vduse
