// Who serves a unix socket (SO_PEERCRED), and --socket-owner's parsing. The
// refusal of a server run by another user is a guest scenario (vhu-004).
#include "base/socket_peer.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
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
