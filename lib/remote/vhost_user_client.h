// The front-end side of the vhost-user protocol (the role QEMU plays):
// connects to a vhost-user-blk target's unix socket, negotiates features and
// protocol features, reads the virtio-blk config space, and hands the target
// memory regions and vrings. One message at a time; the caller serializes.
// docs/interop/vhost-user.rst in QEMU's tree is the protocol's reference.
#pragma once

#include "base/result.h"
#include "base/unique_fd.h"

#include <chrono>
#include <cstdint>
#include <linux/virtio_blk.h>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace vduse
{

namespace vhost_user
{
// Protocol feature bits (VHOST_USER_PROTOCOL_F_*).
inline constexpr unsigned pf_mq = 0;
inline constexpr unsigned pf_reply_ack = 3;
inline constexpr unsigned pf_backend_req = 5; // SLAVE_REQ in DPDK 22.11
inline constexpr unsigned pf_config = 9;
inline constexpr unsigned pf_inflight_shmfd = 12;
inline constexpr unsigned pf_configure_mem_slots = 15;
// VHOST_USER_F_PROTOCOL_FEATURES, a virtio feature bit.
inline constexpr unsigned f_protocol_features = 30;
} // namespace vhost_user

// What the target said about itself.
struct VhostUserTarget {
	uint64_t features = 0;          // the virtio features it offers
	uint64_t protocol_features = 0; // what it offers
	uint64_t acked_protocol_features = 0;
	uint32_t max_queues = 1;
	uint32_t max_mem_slots = 0; // 0 without CONFIGURE_MEM_SLOTS
	virtio_blk_config config{};
	bool has(unsigned feature) const { return features & (uint64_t{1} << feature); }
	// Whether regions can be added and removed one at a time
	// (CONFIGURE_MEM_SLOTS); otherwise SET_MEM_TABLE replaces them all, which
	// a target may do only while it serves no vring (DPDK's vhost library,
	// which SPDK's target is built on, has no ADD_MEM_REG).
	bool memory_slots() const
	{
		return acked_protocol_features &
		       (uint64_t{1} << vhost_user::pf_configure_mem_slots);
	}
};

// The virtio features the bridge asks for, of those the target offers.
uint64_t vhost_user_wanted_features(uint64_t offered);
// Names of the virtio-blk and ring features set in `features`, for show.
std::vector<std::string> vhost_user_feature_names(uint64_t features);

struct VhostUserRegion {
	uint64_t guest_address = 0; // where descriptors point (our IOVA)
	uint64_t size = 0;
	uint64_t user_address = 0; // where vring addresses point (our mapping)
	uint64_t mmap_offset = 0;  // of guest_address in fd
	int fd = -1;
};

struct VhostUserVring {
	uint32_t index = 0;
	uint16_t size = 0;
	uint64_t desc = 0; // user addresses (VHOST_USER_SET_VRING_ADDR)
	uint64_t avail = 0;
	uint64_t used = 0;
	int kick = -1;
	int call = -1;
	uint16_t base = 0; // the first avail index the target takes
};

class VhostUserClient
{
public:
	// Connects to the socket at path and negotiates; each answer is awaited
	// at most `timeout`. Errors name the path and what went wrong.
	// With owner, the target must run as that user (or root), checked
	// before anything is sent.
	// With backend_channel, a target that offers BACKEND_REQ is handed a
	// socket to speak first on (take_backend_channel()).
	static Result<VhostUserClient> connect(const std::string &path,
	                                       std::chrono::milliseconds timeout,
	                                       std::optional<uid_t> owner = std::nullopt,
	                                       bool backend_channel = false);
	// Negotiates over a connected socket (tests, fuzzing); label names the
	// target in errors.
	static Result<VhostUserClient> over(UniqueFd socket, const std::string &label,
	                                    std::chrono::milliseconds timeout,
	                                    bool backend_channel = false);

	const VhostUserTarget &target() const { return target_; }
	int fd() const { return socket_.get(); }
	// Our end of the back-end channel (vhost_user_backend_channel.h); empty
	// if none was asked for or the target does not offer BACKEND_REQ.
	UniqueFd take_backend_channel() { return std::move(backend_channel_); }

	// GET_CONFIG: the target's config space now, into target().config
	// (a target whose disk was resized says its new capacity).
	Status read_config();
	// SET_FEATURES with the features the bridge uses.
	Status set_features(uint64_t features);
	// With memory_slots() only.
	Status add_region(const VhostUserRegion &region);
	Status remove_region(const VhostUserRegion &region);
	// Whether the target can be given memory as the device needs: the
	// bridge adds the driver's regions as requests come, while others are in
	// flight, so it needs memory_slots(), unless all its requests' memory is
	// known before the rings start (whole_table: direct rings, or the bridge
	// with the daemon's own bounce memory), which one SET_MEM_TABLE serves.
	Status check_memory_messages(bool whole_table) const;
	// SET_MEM_TABLE: these regions (at most max_table_regions) in place of
	// all the target had.
	Status set_mem_table(const std::vector<VhostUserRegion> &regions);
	static constexpr size_t max_table_regions = 8; // VHOST_MEMORY_BASELINE_NREGIONS
	// NUM, ADDR, BASE, KICK, CALL, ENABLE.
	Status start_vring(const VhostUserVring &vring);
	// GET_VRING_BASE: the target stops serving the vring and says the next
	// avail index it would have taken; requests it holds may still finish.
	Result<uint16_t> stop_vring(uint32_t index);

private:
	VhostUserClient(UniqueFd socket, std::string path)
	        : socket_(std::move(socket)), path_(std::move(path))
	{
	}
	Status negotiate();
	// Sends one message with payload and fds; with ack, waits for the
	// target's REPLY_ACK answer (when negotiated).
	Status send(uint32_t request, const void *payload, uint32_t size, const int *fds = nullptr,
	            size_t nfds = 0, bool ack = true);
	// Sends a request and reads its answer into reply (exactly size bytes).
	Status call(uint32_t request, const void *payload, uint32_t size, void *reply,
	            uint32_t reply_size);
	Status receive(uint32_t request, void *reply, uint32_t reply_size);
	Error error(const std::string &what) const;

	// SET_BACKEND_REQ_FD: a socketpair, its other end to the target.
	Status open_backend_channel();

	UniqueFd socket_;
	std::string path_;
	VhostUserTarget target_;
	bool want_backend_channel_ = false;
	UniqueFd backend_channel_;
};

} // namespace vduse
