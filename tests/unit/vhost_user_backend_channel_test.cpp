// The back-end channel (a target's own messages): the parser on any bytes,
// the channel's answers and what it closes; the guest scenario vhu-012
// follows qemu-storage-daemon's and DPDK's config-change messages.
#include "remote/vhost_user_backend_channel.h"

#include <array>
#include <cstring>
#include <filesystem>
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

using namespace vduse;

namespace
{

std::vector<uint8_t> message(uint32_t request, uint32_t flags, uint32_t size = 0)
{
	std::vector<uint8_t> bytes(12 + size, 0xab);
	std::array<uint32_t, 3> header{request, flags, size};
	std::memcpy(bytes.data(), header.data(), 12);
	return bytes;
}

struct ChannelPair {
	UniqueFd target;
	std::optional<VhostUserBackendChannel> channel;
	ChannelPair()
	{
		std::array<int, 2> pair{};
		EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair.data()), 0);
		channel.emplace(UniqueFd(pair[0]), "vhost-user target at /run/t.sock");
		target.reset(pair[1]);
	}
	void send(const std::vector<uint8_t> &bytes, int fd = -1)
	{
		iovec iov{const_cast<uint8_t *>(bytes.data()), bytes.size()};
		msghdr msg{};
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int))> control{};
		if (fd >= 0) {
			msg.msg_control = control.data();
			msg.msg_controllen = control.size();
			cmsghdr *c = CMSG_FIRSTHDR(&msg);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
		}
		ASSERT_EQ(::sendmsg(target.get(), &msg, 0), static_cast<ssize_t>(bytes.size()));
	}
	// The answers the target can read now: each (request, result).
	std::vector<std::pair<uint32_t, uint64_t>> answers()
	{
		std::vector<std::pair<uint32_t, uint64_t>> out;
		std::array<uint8_t, 20> reply{};
		while (::recv(target.get(), reply.data(), reply.size(), MSG_DONTWAIT) == 20) {
			std::array<uint32_t, 3> header{};
			uint64_t result = 0;
			std::memcpy(header.data(), reply.data(), 12);
			std::memcpy(&result, reply.data() + 12, 8);
			EXPECT_EQ(header[1], 0x5u) << "version 1 and the reply flag";
			EXPECT_EQ(header[2], 8u);
			out.emplace_back(header[0], result);
		}
		return out;
	}
};

} // namespace

TEST(BackendMessageParser, CutsMessagesAcrossAnyChunks)
{
	std::vector<uint8_t> stream = message(2, 0x1);
	auto with_payload = message(7, 0x9, 40);
	stream.insert(stream.end(), with_payload.begin(), with_payload.end());
	auto last = message(2, 0x9);
	stream.insert(stream.end(), last.begin(), last.end());
	// Byte by byte, and whole: the same three messages.
	for (size_t chunk : {size_t{1}, size_t{5}, stream.size()}) {
		BackendMessageParser parser;
		std::vector<BackendMessage> got;
		for (size_t at = 0; at < stream.size(); at += chunk) {
			size_t n = std::min(chunk, stream.size() - at);
			auto some = parser.feed({stream.data() + at, n});
			ASSERT_TRUE(some.ok()) << some.error().message;
			got.insert(got.end(), some->begin(), some->end());
		}
		ASSERT_EQ(got.size(), 3u) << "chunks of " << chunk;
		EXPECT_EQ(got[0].request, 2u);
		EXPECT_FALSE(got[0].need_reply);
		EXPECT_EQ(got[1].request, 7u);
		EXPECT_TRUE(got[1].need_reply);
		EXPECT_EQ(got[2].request, 2u);
		EXPECT_TRUE(got[2].need_reply);
	}
}

TEST(BackendMessageParser, RefusesWhatIsNotVhostUser)
{
	auto refused = [](const std::vector<uint8_t> &bytes, const std::string &needle) {
		BackendMessageParser parser;
		auto got = parser.feed(bytes);
		ASSERT_FALSE(got.ok()) << needle;
		EXPECT_NE(got.error().message.find(needle), std::string::npos)
		        << got.error().message;
	};
	refused(message(2, 0x2), "has version 2, not 1");
	refused(message(2, 0x0), "has version 0, not 1");
	refused(message(2, 0x5), "is a reply");
	refused(message(9, 0x1, 4097), "a payload of 4097 bytes");
	// The largest payload allowed is skipped, whole.
	BackendMessageParser parser;
	auto big = message(9, 0x1, 4096);
	auto after = message(2, 0x1);
	big.insert(big.end(), after.begin(), after.end());
	auto got = parser.feed(big);
	ASSERT_TRUE(got.ok()) << got.error().message;
	ASSERT_EQ(got->size(), 2u);
	EXPECT_EQ((*got)[1].request, 2u);
}

TEST(VhostUserBackendChannel, FollowsConfigChangesAndRefusesTheRest)
{
	ChannelPair p;
	auto events = p.channel->serve();
	ASSERT_TRUE(events.ok()) << events.error().message;
	EXPECT_EQ(events->config_changes, 0u) << "nothing sent: no event, no block";
	p.send(message(2, 0x1));     // CONFIG_CHANGE_MSG, no reply asked (libvhost-user)
	p.send(message(2, 0x9));     // with NEED_REPLY (DPDK's need_reply)
	p.send(message(1, 0x9, 64)); // IOTLB_MSG with NEED_REPLY: not followed
	p.send(message(3, 0x1, 16)); // VRING_HOST_NOTIFIER_MSG, no reply asked
	events = p.channel->serve();
	ASSERT_TRUE(events.ok()) << events.error().message;
	EXPECT_EQ(events->config_changes, 2u);
	EXPECT_EQ(events->refused, 2u);
	auto answers = p.answers();
	ASSERT_EQ(answers.size(), 2u);
	EXPECT_EQ(answers[0], std::make_pair(2u, uint64_t{0}));
	EXPECT_EQ(answers[1], std::make_pair(1u, uint64_t{1}));
}

TEST(VhostUserBackendChannel, ClosesTheFdsAMessageCarries)
{
	auto open_fds = [] {
		size_t n = 0;
		for ([[maybe_unused]] const auto &entry :
		     std::filesystem::directory_iterator("/proc/self/fd"))
			++n;
		return n;
	};
	ChannelPair p;
	UniqueFd passed(::eventfd(0, EFD_CLOEXEC));
	size_t before = open_fds();
	p.send(message(3, 0x1, 16), passed.get());
	p.send(message(3, 0x1, 16), passed.get());
	auto events = p.channel->serve();
	ASSERT_TRUE(events.ok()) << events.error().message;
	EXPECT_EQ(events->refused, 2u);
	EXPECT_EQ(open_fds(), before) << "an fd the target sent is still open";
}

TEST(VhostUserBackendChannel, EndsOnAHangUpOrGarbage)
{
	{
		ChannelPair p;
		p.target.reset();
		auto events = p.channel->serve();
		ASSERT_FALSE(events.ok());
		EXPECT_NE(events.error().message.find("closed its back-end channel"),
		          std::string::npos)
		        << events.error().message;
		EXPECT_NE(events.error().message.find("/run/t.sock"), std::string::npos);
	}
	{
		ChannelPair p;
		p.send(message(2, 0x3));
		auto events = p.channel->serve();
		ASSERT_FALSE(events.ok());
		EXPECT_NE(events.error().message.find("version 3"), std::string::npos)
		        << events.error().message;
	}
}

TEST(VhostUserBackendChannel, AFloodIsReadInBoundedSteps)
{
	ChannelPair p;
	// More than one serve() reads: the rest waits for the next call.
	std::vector<uint8_t> flood;
	for (int i = 0; i < 20000; ++i) {
		auto m = message(2, 0x1);
		flood.insert(flood.end(), m.begin(), m.end());
	}
	int size = 1 << 20;
	(void)::setsockopt(p.target.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	size_t sent = 0;
	unsigned seen = 0;
	while (sent < flood.size()) {
		ssize_t n = ::send(p.target.get(), flood.data() + sent, flood.size() - sent,
		                   MSG_DONTWAIT);
		if (n > 0)
			sent += static_cast<size_t>(n);
		auto events = p.channel->serve();
		ASSERT_TRUE(events.ok()) << events.error().message;
		EXPECT_LE(events->config_changes, (64u * 1024 + 4096) / 12 + 1);
		seen += events->config_changes;
	}
	for (int i = 0; i < 100 && seen < 20000; ++i) {
		auto events = p.channel->serve();
		ASSERT_TRUE(events.ok()) << events.error().message;
		seen += events->config_changes;
	}
	EXPECT_EQ(seen, 20000u);
}

TEST(VhostUserBackendChannel, ATargetThatReadsNoAnswersIsCutOff)
{
	ChannelPair p;
	int small = 4096;
	(void)::setsockopt(p.target.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	// Asks and asks, never reads: the answers fill its socket.
	Status last;
	for (int i = 0; i < 20000 && last.ok(); ++i) {
		auto m = message(2, 0x9);
		if (::send(p.target.get(), m.data(), m.size(), MSG_DONTWAIT) < 0)
			break;
		auto events = p.channel->serve();
		if (!events)
			last = events.error();
	}
	for (int i = 0; i < 10 && last.ok(); ++i) {
		auto events = p.channel->serve();
		if (!events)
			last = events.error();
	}
	ASSERT_FALSE(last.ok());
	EXPECT_NE(last.error().message.find("does not read the answers"), std::string::npos)
	        << last.error().message;
}
