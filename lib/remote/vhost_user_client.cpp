#include "remote/vhost_user_client.h"

#include "base/socket_peer.h"

#include "virtio/vring.h"

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <linux/virtio_config.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

namespace vduse
{

namespace
{

// Message types (VHOST_USER_*), QEMU's docs/interop/vhost-user.rst.
enum Request : uint32_t {
	get_features = 1,
	set_features = 2,
	set_owner = 3,
	set_mem_table = 5,
	set_vring_num = 8,
	set_vring_addr = 9,
	set_vring_base = 10,
	get_vring_base = 11,
	set_vring_kick = 12,
	set_vring_call = 13,
	get_protocol_features = 15,
	set_protocol_features = 16,
	get_queue_num = 17,
	set_vring_enable = 18,
	set_backend_req_fd = 21,
	get_config = 24,
	get_max_mem_slots = 36,
	add_mem_reg = 37,
	rem_mem_reg = 38,
};

// The code of send()'s error when the target answered REPLY_ACK with a
// failure (the connection itself is fine).
constexpr int refused = EREMOTEIO;
constexpr uint32_t flag_version = 0x1;
constexpr uint32_t flag_reply = 0x4;
constexpr uint32_t flag_need_reply = 0x8;
constexpr size_t max_payload = 4096;
constexpr uint32_t max_fds = 8;

struct Header {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
};

struct VringState {
	uint32_t index;
	uint32_t num;
};

struct VringAddr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc;
	uint64_t used;
	uint64_t avail;
	uint64_t log;
};

struct MemRegion {
	uint64_t guest_address;
	uint64_t size;
	uint64_t user_address;
	uint64_t mmap_offset;
};

struct MemTableMsg {
	uint32_t count;
	uint32_t padding;
	std::array<MemRegion, VhostUserClient::max_table_regions> regions;
};

struct MemRegionMsg {
	uint64_t padding;
	MemRegion region;
};

struct ConfigMsg {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t payload[256];
};

// The config space up to the write zeroes fields: what vdused's own device
// offers (blk_config.cpp); older targets answer nothing for a bigger size.
constexpr uint32_t config_size = offsetof(virtio_blk_config, unused1) + 3;

constexpr uint64_t bit(unsigned n)
{
	return uint64_t{1} << n;
}

} // namespace

uint64_t vhost_user_wanted_features(uint64_t offered)
{
	uint64_t wanted = bit(VIRTIO_F_VERSION_1) | bit(vring::f_indirect_desc) |
	                  bit(vhost_user::f_protocol_features) | bit(VIRTIO_BLK_F_SIZE_MAX) |
	                  bit(VIRTIO_BLK_F_SEG_MAX) | bit(VIRTIO_BLK_F_BLK_SIZE) |
	                  bit(VIRTIO_BLK_F_TOPOLOGY) | bit(VIRTIO_BLK_F_MQ) | bit(VIRTIO_BLK_F_RO) |
	                  bit(VIRTIO_BLK_F_FLUSH) | bit(VIRTIO_BLK_F_DISCARD) |
	                  bit(VIRTIO_BLK_F_WRITE_ZEROES);
	return offered & wanted;
}

std::vector<std::string> vhost_user_feature_names(uint64_t features)
{
	static constexpr std::array<std::pair<unsigned, const char *>, 12> names{{
	        {VIRTIO_BLK_F_SIZE_MAX, "size-max"},
	        {VIRTIO_BLK_F_SEG_MAX, "seg-max"},
	        {VIRTIO_BLK_F_RO, "ro"},
	        {VIRTIO_BLK_F_BLK_SIZE, "blk-size"},
	        {VIRTIO_BLK_F_FLUSH, "flush"},
	        {VIRTIO_BLK_F_TOPOLOGY, "topology"},
	        {VIRTIO_BLK_F_MQ, "mq"},
	        {VIRTIO_BLK_F_DISCARD, "discard"},
	        {VIRTIO_BLK_F_WRITE_ZEROES, "write-zeroes"},
	        {vring::f_indirect_desc, "indirect-desc"},
	        {vring::f_event_idx, "event-idx"},
	        {VIRTIO_F_VERSION_1, "version-1"},
	}};
	std::vector<std::string> out;
	for (const auto &[n, name] : names)
		if (features & bit(n))
			out.emplace_back(name);
	return out;
}

Error VhostUserClient::error(const std::string &what) const
{
	return failure("vhost-user target at " + path_ + ": " + what);
}

Result<VhostUserClient> VhostUserClient::connect(const std::string &path,
                                                 std::chrono::milliseconds timeout,
                                                 std::optional<uid_t> owner, bool backend_channel)
{
	struct stat st {
	};
	if (::stat(path.c_str(), &st) < 0)
		return system_error(errno, "vhost-user socket " + path);
	if (!S_ISSOCK(st.st_mode))
		return failure("vhost-user socket " + path + ": not a unix socket");
	sockaddr_un addr{};
	addr.sun_family = AF_UNIX;
	if (path.size() >= sizeof(addr.sun_path))
		return failure("vhost-user socket " + path + ": path too long for a unix socket");
	std::memcpy(addr.sun_path, path.data(), path.size());
	UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
	if (!fd)
		return errno_error("cannot create a unix socket");
	if (::connect(fd.get(), reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) < 0)
		return system_error(errno,
		                    "cannot connect to the vhost-user target at " + path +
		                            (errno == ECONNREFUSED ? " (is it running?)" : ""));
	if (owner) {
		if (auto peer =
		            check_socket_peer(fd.get(), *owner, "the vhost-user socket " + path);
		    !peer)
			return peer.error();
	}
	return over(std::move(fd), path, timeout, backend_channel);
}

Result<VhostUserClient> VhostUserClient::over(UniqueFd fd, const std::string &path,
                                              std::chrono::milliseconds timeout,
                                              bool backend_channel)
{
	timeval tv{};
	tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
	tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
	(void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	VhostUserClient client(std::move(fd), path);
	client.want_backend_channel_ = backend_channel;
	if (auto status = client.negotiate(); !status)
		return status.error();
	return client;
}

Status VhostUserClient::negotiate()
{
	uint64_t features = 0;
	if (auto s = call(get_features, nullptr, 0, &features, sizeof(features)); !s)
		return s;
	target_.features = features;
	if (!(features & bit(vhost_user::f_protocol_features)))
		return error("it offers no protocol features (a vhost-user-blk target offers "
		             "at least CONFIG)");
	if (!(features & bit(VIRTIO_F_VERSION_1)))
		return error("it does not offer VIRTIO_F_VERSION_1");
	if (!(features & bit(vring::f_indirect_desc)))
		return error("it does not offer indirect descriptors, which the bridge uses");
	uint64_t protocol = 0;
	if (auto s = call(get_protocol_features, nullptr, 0, &protocol, sizeof(protocol)); !s)
		return s;
	target_.protocol_features = protocol;
	if (!(protocol & bit(vhost_user::pf_config)))
		return error("it does not offer CONFIG: not a vhost-user-blk target");
	// Without CONFIGURE_MEM_SLOTS memory goes in one SET_MEM_TABLE; the
	// caller decides whether that serves it (memory_slots()).
	// INFLIGHT_SHMFD is not asked for: vdused replays from its own record of
	// what it sent (docs/ARCHITECTURE.md, "vhost-user bridge").
	// BACKEND_REQ: the target tells us when its disk changes size.
	uint64_t acked =
	        protocol & (bit(vhost_user::pf_mq) | bit(vhost_user::pf_reply_ack) |
	                    bit(vhost_user::pf_config) | bit(vhost_user::pf_configure_mem_slots) |
	                    (want_backend_channel_ ? bit(vhost_user::pf_backend_req) : 0));
	if (auto s = send(set_protocol_features, &acked, sizeof(acked), nullptr, 0, false); !s)
		return s;
	target_.acked_protocol_features = acked;
	if (acked & bit(vhost_user::pf_mq)) {
		uint64_t queues = 0;
		if (auto s = call(get_queue_num, nullptr, 0, &queues, sizeof(queues)); !s)
			return s;
		target_.max_queues = static_cast<uint32_t>(
		        std::max<uint64_t>(1, std::min<uint64_t>(queues, 65535)));
	}
	if (target_.memory_slots()) {
		uint64_t slots = 0;
		if (auto s = call(get_max_mem_slots, nullptr, 0, &slots, sizeof(slots)); !s)
			return s;
		target_.max_mem_slots = static_cast<uint32_t>(std::min<uint64_t>(slots, 65535));
	}
	// Where QEMU sets it up too (vhost_user_backend_init), before SET_OWNER.
	if (acked & bit(vhost_user::pf_backend_req)) {
		if (auto s = open_backend_channel(); !s)
			return s;
	}
	if (auto s = send(set_owner, nullptr, 0, nullptr, 0, false); !s)
		return s;
	if (auto s = read_config(); !s)
		return s;
	if (target_.config.capacity == 0)
		return error("it reports a capacity of 0: not a vhost-user-blk target, or an "
		             "empty one");
	return {};
}

Status VhostUserClient::open_backend_channel()
{
	std::array<int, 2> pair{};
	if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair.data()) < 0)
		return with_context("vhost-user target at " + path_,
		                    errno_error("cannot create its back-end channel"));
	UniqueFd ours(pair[0]);
	UniqueFd theirs(pair[1]);
	// A target that refuses it is served without one (its size is then
	// followed only when vdusectl resize asks); only a broken connection
	// is an error.
	if (auto s = send(set_backend_req_fd, nullptr, 0, &pair[1], 1); !s)
		return s.error().code == refused ? Status() : s;
	backend_channel_ = std::move(ours);
	return {};
}

Status VhostUserClient::read_config()
{
	ConfigMsg config{};
	config.size = config_size;
	ConfigMsg answer{};
	if (auto s = call(get_config, &config, offsetof(ConfigMsg, payload) + config_size, &answer,
	                  offsetof(ConfigMsg, payload) + config_size);
	    !s)
		return s;
	if (answer.size != config_size)
		return error("it refused to give its config space");
	std::memcpy(&target_.config, answer.payload, config_size);
	if (!target_.has(VIRTIO_BLK_F_MQ))
		target_.config.num_queues = 1;
	return {};
}

Status VhostUserClient::set_features(uint64_t features)
{
	return send(Request::set_features, &features, sizeof(features), nullptr, 0, false);
}

Status VhostUserClient::add_region(const VhostUserRegion &region)
{
	MemRegionMsg msg{
	        0, {region.guest_address, region.size, region.user_address, region.mmap_offset}};
	return send(add_mem_reg, &msg, sizeof(msg), &region.fd, 1);
}

Status VhostUserClient::check_memory_messages(bool whole_table) const
{
	if (whole_table || target_.memory_slots())
		return {};
	return error("it does not offer CONFIGURE_MEM_SLOTS, which the bridge needs to add memory "
	             "while requests are in flight (--bounce-memory hugepage gives it all the "
	             "memory requests use in one SET_MEM_TABLE, as --rings direct does the "
	             "driver's)");
}

Status VhostUserClient::set_mem_table(const std::vector<VhostUserRegion> &regions)
{
	if (regions.size() > max_table_regions)
		return error("SET_MEM_TABLE takes " + std::to_string(max_table_regions) +
		             " memory regions, not " + std::to_string(regions.size()));
	MemTableMsg msg{};
	std::array<int, max_table_regions> fds{};
	msg.count = static_cast<uint32_t>(regions.size());
	for (size_t i = 0; i < regions.size(); ++i) {
		const VhostUserRegion &r = regions[i];
		msg.regions[i] = {r.guest_address, r.size, r.user_address, r.mmap_offset};
		fds[i] = r.fd;
	}
	// The payload is the count, the padding and the regions that are there.
	auto size = static_cast<uint32_t>(offsetof(MemTableMsg, regions) +
	                                  regions.size() * sizeof(MemRegion));
	return send(Request::set_mem_table, &msg, size, fds.data(), regions.size());
}

Status VhostUserClient::remove_region(const VhostUserRegion &region)
{
	// The fd is ignored, but some targets (libvhost-user before QEMU 8)
	// expect one.
	MemRegionMsg msg{
	        0, {region.guest_address, region.size, region.user_address, region.mmap_offset}};
	return send(rem_mem_reg, &msg, sizeof(msg), &region.fd, region.fd >= 0 ? 1 : 0);
}

Status VhostUserClient::start_vring(const VhostUserVring &vring)
{
	VringState num{vring.index, vring.size};
	if (auto s = send(set_vring_num, &num, sizeof(num)); !s)
		return s;
	VringAddr addr{vring.index, 0, vring.desc, vring.used, vring.avail, 0};
	if (auto s = send(set_vring_addr, &addr, sizeof(addr)); !s)
		return s;
	VringState base{vring.index, vring.base};
	if (auto s = send(set_vring_base, &base, sizeof(base)); !s)
		return s;
	uint64_t index = vring.index;
	if (auto s = send(set_vring_kick, &index, sizeof(index), &vring.kick, 1); !s)
		return s;
	if (auto s = send(set_vring_call, &index, sizeof(index), &vring.call, 1); !s)
		return s;
	VringState enable{vring.index, 1};
	return send(set_vring_enable, &enable, sizeof(enable));
}

Result<uint16_t> VhostUserClient::stop_vring(uint32_t index)
{
	VringState state{index, 0};
	VringState answer{};
	if (auto s = call(get_vring_base, &state, sizeof(state), &answer, sizeof(answer)); !s)
		return s.error();
	if (answer.index != index || answer.num > UINT16_MAX)
		return error("answered GET_VRING_BASE of queue " + std::to_string(index) +
		             " with queue " + std::to_string(answer.index) + ", index " +
		             std::to_string(answer.num));
	return static_cast<uint16_t>(answer.num);
}

Status VhostUserClient::send(uint32_t request, const void *payload, uint32_t size, const int *fds,
                             size_t nfds, bool ack)
{
	bool reply_ack = ack && (target_.acked_protocol_features & bit(vhost_user::pf_reply_ack));
	Header header{request, flag_version | (reply_ack ? flag_need_reply : 0), size};
	std::array<iovec, 2> iov{{{&header, sizeof(header)}, {const_cast<void *>(payload), size}}};
	msghdr msg{};
	msg.msg_iov = iov.data();
	msg.msg_iovlen = size ? 2 : 1;
	alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int) * max_fds)> control{};
	if (nfds > 0 && nfds <= max_fds) {
		msg.msg_control = control.data();
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		std::memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
	}
	ssize_t n;
	do
		n = ::sendmsg(socket_.get(), &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return with_context("vhost-user target at " + path_,
		                    errno_error("cannot send message " + std::to_string(request)));
	if (static_cast<size_t>(n) != sizeof(header) + size)
		return error("short write of message " + std::to_string(request));
	if (!reply_ack)
		return {};
	uint64_t result = 0;
	if (auto s = receive(request, &result, sizeof(result)); !s)
		return s;
	if (result != 0) {
		Error e = error("it refused message " + std::to_string(request));
		e.code = refused;
		return e;
	}
	return {};
}

Status VhostUserClient::call(uint32_t request, const void *payload, uint32_t size, void *reply,
                             uint32_t reply_size)
{
	if (auto s = send(request, payload, size, nullptr, 0, false); !s)
		return s;
	return receive(request, reply, reply_size);
}

Status VhostUserClient::receive(uint32_t request, void *reply, uint32_t reply_size)
{
	Header header{};
	std::array<uint8_t, max_payload> payload{};
	auto read_exact = [&](void *buffer, size_t length) -> Status {
		auto *p = static_cast<uint8_t *>(buffer);
		size_t done = 0;
		while (done < length) {
			ssize_t n = ::recv(socket_.get(), p + done, length - done, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return error("no answer to message " + std::to_string(request) +
				             " (is it a vhost-user target?)");
			if (n < 0)
				return with_context("vhost-user target at " + path_,
				                    errno_error("cannot read the answer"));
			if (n == 0)
				return error("it closed the connection (during message " +
				             std::to_string(request) + ")");
			done += static_cast<size_t>(n);
		}
		return {};
	};
	if (auto s = read_exact(&header, sizeof(header)); !s)
		return s;
	if (header.request != request || !(header.flags & flag_reply) ||
	    (header.flags & 0x3) != flag_version)
		return error("unexpected answer to message " + std::to_string(request) +
		             ": not a vhost-user target");
	if (header.size > payload.size())
		return error("answer of " + std::to_string(header.size) + " bytes to message " +
		             std::to_string(request) + " is too long");
	if (auto s = read_exact(payload.data(), header.size); !s)
		return s;
	if (header.size < reply_size) {
		// A target that cannot answer GET_CONFIG answers with an empty payload.
		if (request == get_config) {
			std::memset(reply, 0, reply_size);
			return {};
		}
		return error("answer of " + std::to_string(header.size) + " bytes to message " +
		             std::to_string(request) + ", expected " + std::to_string(reply_size));
	}
	std::memcpy(reply, payload.data(), reply_size);
	return {};
}

} // namespace vduse
