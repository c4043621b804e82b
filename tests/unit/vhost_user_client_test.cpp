// The vhost-user front-end's negotiation against scripted target replies
// (the guest scenarios vhu-* run it against qemu-storage-daemon).
#include "remote/vhost_user_client.h"
#include "virtio/vring.h"

#include <array>
#include <cstring>
#include <gtest/gtest.h>
#include <linux/virtio_config.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

using namespace vduse;

namespace
{

constexpr uint64_t bit(unsigned n)
{
	return uint64_t{1} << n;
}

struct Script {
	std::vector<uint8_t> bytes;
	void reply(uint32_t request, const void *payload, uint32_t size, uint32_t flags = 0x5)
	{
		uint32_t header[3] = {request, flags, size};
		auto *h = reinterpret_cast<const uint8_t *>(header);
		bytes.insert(bytes.end(), h, h + sizeof(header));
		auto *p = static_cast<const uint8_t *>(payload);
		bytes.insert(bytes.end(), p, p + size);
	}
	void reply_u64(uint32_t request, uint64_t value) { reply(request, &value, sizeof(value)); }
	// GET_CONFIG's answer: a block device of capacity sectors (size 0: a
	// target that refuses).
	void config(uint64_t capacity, uint32_t size = 60)
	{
		struct {
			uint32_t offset, size, flags;
			uint8_t payload[60];
		} config{};
		config.size = size;
		virtio_blk_config blk{};
		blk.capacity = capacity;
		blk.blk_size = 4096;
		blk.num_queues = 2;
		std::memcpy(config.payload, &blk, 60);
		reply(24, &config, sizeof(config));
	}
};

constexpr uint64_t blk_features = bit(VIRTIO_F_VERSION_1) | bit(vring::f_indirect_desc) |
                                  bit(vhost_user::f_protocol_features) | bit(VIRTIO_BLK_F_FLUSH) |
                                  bit(VIRTIO_BLK_F_MQ) | bit(VIRTIO_BLK_F_BLK_SIZE) |
                                  bit(vring::f_event_idx);
constexpr uint64_t blk_protocol = bit(vhost_user::pf_mq) | bit(vhost_user::pf_reply_ack) |
                                  bit(vhost_user::pf_config) |
                                  bit(vhost_user::pf_configure_mem_slots);

Script block_target(uint64_t capacity, uint64_t protocol = blk_protocol)
{
	Script s;
	s.reply_u64(1, blk_features); // GET_FEATURES
	s.reply_u64(15, protocol);    // GET_PROTOCOL_FEATURES
	s.reply_u64(17, 4);           // GET_QUEUE_NUM
	if (protocol & bit(vhost_user::pf_configure_mem_slots))
		s.reply_u64(36, 509); // GET_MAX_MEM_SLOTS
	s.config(capacity);
	return s;
}

// With keep, the target's end stays open there (for messages after the
// handshake); else the target is gone once the script is read.
Result<VhostUserClient> negotiate(const Script &script, UniqueFd *keep = nullptr,
                                  bool backend_channel = false)
{
	int pair[2];
	EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
	UniqueFd ours(pair[0]);
	UniqueFd target(pair[1]);
	if (!script.bytes.empty()) {
		EXPECT_EQ(::send(target.get(), script.bytes.data(), script.bytes.size(), 0),
		          static_cast<ssize_t>(script.bytes.size()));
	}
	::shutdown(target.get(), SHUT_WR);
	if (keep)
		*keep = std::move(target);
	return VhostUserClient::over(std::move(ours), "/run/t.sock", std::chrono::milliseconds(200),
	                             backend_channel);
}

// A target that offers BACKEND_REQ, answering SET_BACKEND_REQ_FD with ack
// (0: taken).
Script channel_target(uint64_t ack)
{
	Script s;
	s.reply_u64(1, blk_features);
	s.reply_u64(15, blk_protocol | bit(vhost_user::pf_backend_req));
	s.reply_u64(17, 4);
	s.reply_u64(36, 509);
	s.reply_u64(21, ack); // REPLY_ACK of SET_BACKEND_REQ_FD
	s.config(1 << 21);
	return s;
}

// What the client sent the target so far: the bytes, and the fds that came.
struct Sent {
	std::vector<uint8_t> bytes;
	std::vector<UniqueFd> fds;
};
Sent read_sent(int target)
{
	Sent sent;
	std::array<uint8_t, 4096> chunk{};
	for (;;) {
		alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int) * 8)> control{};
		iovec iov{chunk.data(), chunk.size()};
		msghdr msg{};
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = control.data();
		msg.msg_controllen = control.size();
		ssize_t n = ::recvmsg(target, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n <= 0)
			break;
		for (cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < count; ++i) {
				int fd = -1;
				std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
				sent.fds.emplace_back(fd);
			}
		}
		sent.bytes.insert(sent.bytes.end(), chunk.begin(), chunk.begin() + n);
	}
	return sent;
}

} // namespace

TEST(VhostUserClient, NegotiatesWithABlockTarget)
{
	auto client = negotiate(block_target(1 << 21));
	ASSERT_TRUE(client.ok()) << client.error().message;
	const VhostUserTarget &t = client->target();
	EXPECT_EQ(t.config.capacity, 1u << 21);
	EXPECT_EQ(t.config.blk_size, 4096u);
	EXPECT_EQ(t.max_queues, 4u);
	EXPECT_EQ(t.max_mem_slots, 509u);
	EXPECT_EQ(t.acked_protocol_features, blk_protocol);
	// EVENT_IDX is not asked for; what the target lacks is not either.
	uint64_t wanted = vhost_user_wanted_features(t.features);
	EXPECT_FALSE(wanted & bit(vring::f_event_idx));
	EXPECT_FALSE(wanted & bit(VIRTIO_BLK_F_DISCARD));
	EXPECT_TRUE(wanted & bit(VIRTIO_BLK_F_FLUSH));
	auto names = vhost_user_feature_names(wanted);
	EXPECT_NE(std::find(names.begin(), names.end(), "flush"), names.end());
}

// vdusectl resize of a vhost-user device: the config space asked again on
// the live connection.
TEST(VhostUserClient, ReadsTheConfigSpaceAgain)
{
	Script script = block_target(1 << 21);
	script.config(1 << 22);
	script.config(1 << 23, 0);
	UniqueFd target;
	auto client = negotiate(script, &target);
	ASSERT_TRUE(client.ok()) << client.error().message;
	EXPECT_EQ(client->target().config.capacity, 1u << 21);
	auto again = client->read_config();
	ASSERT_TRUE(again.ok()) << again.error().message;
	EXPECT_EQ(client->target().config.capacity, 1u << 22);
	auto refused = client->read_config();
	ASSERT_FALSE(refused.ok());
	EXPECT_NE(refused.error().message.find("refused to give its config space"),
	          std::string::npos)
	        << refused.error().message;
}

TEST(VhostUserClient, RefusesWhatIsNotABlockTarget)
{
	auto expect_error = [](const Script &s, const std::string &needle) {
		auto client = negotiate(s);
		ASSERT_FALSE(client.ok()) << needle;
		EXPECT_NE(client.error().message.find(needle), std::string::npos)
		        << client.error().message;
		EXPECT_NE(client.error().message.find("/run/t.sock"), std::string::npos);
	};
	expect_error(block_target(0), "capacity of 0");
	Script no_config;
	no_config.reply_u64(1, blk_features);
	no_config.reply_u64(15, blk_protocol & ~bit(vhost_user::pf_config));
	expect_error(no_config, "does not offer CONFIG");
	Script echo; // a request echoed back has no reply flag
	echo.reply(1, nullptr, 0, 0x1);
	expect_error(echo, "not a vhost-user target");
	expect_error(Script{}, "closed the connection");
	Script huge;
	huge.reply(1, nullptr, 0, 0x5);
	huge.bytes[8] = 0xff; // size 255 ... with nothing after it
	huge.bytes[9] = 0xff;
	expect_error(huge, "is too long");
	Script no_indirect;
	no_indirect.reply_u64(1, blk_features & ~bit(vring::f_indirect_desc));
	expect_error(no_indirect, "indirect descriptors");
}

// DPDK's vhost library (SPDK's target) has no CONFIGURE_MEM_SLOTS: the
// client negotiates without it and hands memory over in one SET_MEM_TABLE.
TEST(VhostUserClient, WithoutMemorySlotsSendsOneTable)
{
	Script script =
	        block_target(1 << 21, blk_protocol & ~bit(vhost_user::pf_configure_mem_slots));
	script.reply_u64(5, 0); // REPLY_ACK of SET_MEM_TABLE
	UniqueFd target;
	auto client = negotiate(script, &target);
	ASSERT_TRUE(client.ok()) << client.error().message;
	EXPECT_FALSE(client->target().memory_slots());
	EXPECT_EQ(client->target().max_mem_slots, 0u);
	EXPECT_TRUE(client->check_memory_messages(true).ok());
	Status bridge = client->check_memory_messages(false);
	ASSERT_FALSE(bridge.ok());
	EXPECT_NE(bridge.error().message.find("CONFIGURE_MEM_SLOTS"), std::string::npos);
	// The way out for the bridge: its own bounce memory, whole from the start.
	EXPECT_NE(bridge.error().message.find("--bounce-memory hugepage"), std::string::npos);

	UniqueFd a(::eventfd(0, EFD_CLOEXEC));
	UniqueFd b(::eventfd(0, EFD_CLOEXEC));
	std::vector<VhostUserRegion> table{
	        {0, 1 << 20, 1ull << 62, 0, a.get()},
	        {1 << 20, 4096, (1ull << 62) + (1 << 20), 8192, b.get()}};
	Status st = client->set_mem_table(table);
	ASSERT_TRUE(st.ok()) << st.error().message;
	table.resize(VhostUserClient::max_table_regions + 1, table[0]);
	EXPECT_FALSE(client->set_mem_table(table).ok());

	// What the target read: the negotiation's messages, then the table.
	Sent read = read_sent(target.get());
	const std::vector<uint8_t> &sent = read.bytes;
	size_t got = sent.size();
	auto fds = static_cast<int>(read.fds.size());
	size_t at = 0;
	bool found = false;
	while (at + 12 <= got) {
		uint32_t header[3];
		std::memcpy(header, sent.data() + at, sizeof(header));
		EXPECT_NE(header[0], 36u) << "GET_MAX_MEM_SLOTS sent to a target without slots";
		if (header[0] == 5) {
			found = true;
			EXPECT_EQ(header[1], 0x9u); // version 1, NEED_REPLY
			ASSERT_EQ(header[2], 8u + 2 * 32u);
			uint32_t count;
			std::memcpy(&count, sent.data() + at + 12, sizeof(count));
			EXPECT_EQ(count, 2u);
			uint64_t second[4];
			std::memcpy(second, sent.data() + at + 12 + 8 + 32, sizeof(second));
			EXPECT_EQ(second[0], 1u << 20);
			EXPECT_EQ(second[1], 4096u);
			EXPECT_EQ(second[2], (1ull << 62) + (1 << 20));
			EXPECT_EQ(second[3], 8192u);
		}
		at += 12 + header[2];
	}
	EXPECT_TRUE(found);
	EXPECT_EQ(fds, 2);
}

// A target that offers BACKEND_REQ is handed a socket of its own to speak
// first on (SET_BACKEND_REQ_FD), when the caller asks for it: what it
// writes there reaches take_backend_channel()'s end.
TEST(VhostUserClient, HandsATargetItsBackEndChannel)
{
	uint64_t protocol = blk_protocol | bit(vhost_user::pf_backend_req);
	Script script = channel_target(0);
	UniqueFd target;
	auto client = negotiate(script, &target, true);
	ASSERT_TRUE(client.ok()) << client.error().message;
	EXPECT_TRUE(client->target().acked_protocol_features & bit(vhost_user::pf_backend_req));
	UniqueFd channel = client->take_backend_channel();
	ASSERT_TRUE(channel.valid());

	// The fd that came with SET_BACKEND_REQ_FD, sent before SET_OWNER.
	Sent read = read_sent(target.get());
	const std::vector<uint8_t> &sent = read.bytes;
	size_t got = sent.size();
	std::vector<UniqueFd> &fds = read.fds;
	std::vector<uint32_t> order;
	for (size_t at = 0; at + 12 <= got;) {
		uint32_t header[3];
		std::memcpy(header, sent.data() + at, sizeof(header));
		order.push_back(header[0]);
		if (header[0] == 21) {
			EXPECT_EQ(header[1], 0x9u) << "version 1, NEED_REPLY";
		}
		at += 12 + header[2];
	}
	auto backend = std::find(order.begin(), order.end(), 21u);
	auto owner = std::find(order.begin(), order.end(), 3u);
	ASSERT_NE(backend, order.end());
	EXPECT_LT(backend, owner);
	ASSERT_EQ(fds.size(), 1u);
	uint32_t config_change[3] = {2, 0x1, 0};
	ASSERT_EQ(::send(fds[0].get(), config_change, sizeof(config_change), 0), 12);
	std::array<uint32_t, 3> arrived{};
	ASSERT_EQ(::recv(channel.get(), arrived.data(), sizeof(arrived), MSG_DONTWAIT), 12);
	EXPECT_EQ(arrived[0], 2u);

	// Not asked for: not negotiated, no channel (vdusectl add's probe).
	auto probe = negotiate(block_target(1 << 21, protocol));
	ASSERT_TRUE(probe.ok()) << probe.error().message;
	EXPECT_FALSE(probe->target().acked_protocol_features & bit(vhost_user::pf_backend_req));
	EXPECT_FALSE(probe->take_backend_channel().valid());
}

// A target that offers BACKEND_REQ but refuses the channel is served
// without one; its size is then followed when vdusectl resize asks.
TEST(VhostUserClient, ATargetThatRefusesTheChannelIsServedWithoutIt)
{
	Script script = channel_target(1); // SET_BACKEND_REQ_FD refused
	UniqueFd target;
	auto client = negotiate(script, &target, true);
	ASSERT_TRUE(client.ok()) << client.error().message;
	EXPECT_EQ(client->target().config.capacity, 1u << 21);
	EXPECT_FALSE(client->take_backend_channel().valid());
}
