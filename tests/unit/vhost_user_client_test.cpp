// The vhost-user front-end's negotiation against scripted target replies
// (the guest scenarios vhu-* run it against qemu-storage-daemon).
#include "remote/vhost_user_client.h"
#include "virtio/vring.h"

#include <cstring>
#include <gtest/gtest.h>
#include <linux/virtio_config.h>
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
};

constexpr uint64_t blk_features = bit(VIRTIO_F_VERSION_1) | bit(vring::f_indirect_desc) |
                                  bit(vhost_user::f_protocol_features) | bit(VIRTIO_BLK_F_FLUSH) |
                                  bit(VIRTIO_BLK_F_MQ) | bit(VIRTIO_BLK_F_BLK_SIZE) |
                                  bit(vring::f_event_idx);
constexpr uint64_t blk_protocol = bit(vhost_user::pf_mq) | bit(vhost_user::pf_reply_ack) |
                                  bit(vhost_user::pf_config) |
                                  bit(vhost_user::pf_configure_mem_slots);

Script block_target(uint64_t capacity)
{
	Script s;
	s.reply_u64(1, blk_features);  // GET_FEATURES
	s.reply_u64(15, blk_protocol); // GET_PROTOCOL_FEATURES
	s.reply_u64(17, 4);            // GET_QUEUE_NUM
	s.reply_u64(36, 509);          // GET_MAX_MEM_SLOTS
	struct {
		uint32_t offset, size, flags;
		uint8_t payload[60];
	} config{};
	config.size = 60;
	virtio_blk_config blk{};
	blk.capacity = capacity;
	blk.blk_size = 4096;
	blk.num_queues = 2;
	std::memcpy(config.payload, &blk, 60);
	s.reply(24, &config, sizeof(config)); // GET_CONFIG
	return s;
}

Result<VhostUserClient> negotiate(const Script &script)
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
	return VhostUserClient::over(std::move(ours), "/run/t.sock",
	                             std::chrono::milliseconds(200));
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
	Script no_slots;
	no_slots.reply_u64(1, blk_features);
	no_slots.reply_u64(15, blk_protocol & ~bit(vhost_user::pf_configure_mem_slots));
	expect_error(no_slots, "CONFIGURE_MEM_SLOTS");
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
