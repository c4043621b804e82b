// Who serves a unix socket (SO_PEERCRED), and --socket-owner's parsing. The
// refusal of a server run by another user is a guest scenario (vhu-004).
#include "base/pidfd.h"
#include "base/socket_peer.h"

#include <csignal>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace vduse
{
namespace
{

TEST(SocketPeer, AUnixSocketNamesItsPeersUserAndAPipeNone)
{
	int pair[2];
	ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
	EXPECT_EQ(unix_peer_uid(pair[0]), ::getuid());
	EXPECT_TRUE(check_socket_peer(pair[0], ::getuid(), "test").ok());
	::close(pair[0]);
	::close(pair[1]);
	int pipe_fds[2];
	ASSERT_EQ(::pipe(pipe_fds), 0);
	EXPECT_FALSE(unix_peer_uid(pipe_fds[0]));
	EXPECT_TRUE(check_socket_peer(pipe_fds[0], 12345, "a pipe").ok());
	::close(pipe_fds[0]);
	::close(pipe_fds[1]);
}

// The bridge drops a reset's requests once the target's process is gone
// (vhost_user_link.cpp): the pidfd must be the listener's, and turn
// readable when it exits, not before.
TEST(SocketPeer, ThePeersPidfdTellsWhenTheListenerHasExited)
{
	int ready[2];
	ASSERT_EQ(::pipe(ready), 0);
	std::string path = ::testing::TempDir() + "peer-pidfd-" + std::to_string(::getpid());
	::unlink(path.c_str());
	sockaddr_un addr{};
	addr.sun_family = AF_UNIX;
	ASSERT_LT(path.size(), sizeof(addr.sun_path));
	path.copy(addr.sun_path, path.size());
	pid_t child = ::fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		int listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
		if (::bind(listener, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) < 0 ||
		    ::listen(listener, 1) < 0)
			::_exit(1);
		(void)!::write(ready[1], "x", 1);
		for (;;)
			::pause();
	}
	char byte;
	ASSERT_EQ(::read(ready[0], &byte, 1), 1);
	::close(ready[0]);
	::close(ready[1]);
	UniqueFd client(::socket(AF_UNIX, SOCK_STREAM, 0));
	ASSERT_EQ(::connect(client.get(), reinterpret_cast<sockaddr *>(&addr), sizeof(addr)), 0);
	UniqueFd pidfd = unix_peer_pidfd(client.get());
	ASSERT_TRUE(pidfd);
	EXPECT_FALSE(process_exited(pidfd));
	::kill(child, SIGKILL);
	::waitpid(child, nullptr, 0);
	EXPECT_TRUE(process_exited(pidfd));
	::unlink(path.c_str());
	int pipe_fds[2];
	ASSERT_EQ(::pipe(pipe_fds), 0);
	EXPECT_FALSE(unix_peer_pidfd(pipe_fds[0]));
	::close(pipe_fds[0]);
	::close(pipe_fds[1]);
}

TEST(SocketPeer, SocketOwnerIsANameOrAUid)
{
	EXPECT_EQ(*parse_user("0"), 0u);
	EXPECT_EQ(*parse_user("root"), 0u);
	EXPECT_EQ(*parse_user("65534"), 65534u);
	auto bad = parse_user("no-such-user-here");
	ASSERT_FALSE(bad);
	EXPECT_EQ(bad.error().message,
	          "--socket-owner 'no-such-user-here' is not a user on this system");
	EXPECT_FALSE(parse_user(""));
	EXPECT_EQ(describe_user(0), "root (uid 0)");
}

} // namespace
} // namespace vduse
