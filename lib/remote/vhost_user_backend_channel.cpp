#include "remote/vhost_user_backend_channel.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>

namespace vduse
{

namespace
{

struct Header {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
};
static_assert(sizeof(Header) == 12);

constexpr uint32_t flag_version_mask = 0x3;
constexpr uint32_t flag_version = 0x1;
constexpr uint32_t flag_reply = 0x4;
constexpr uint32_t flag_need_reply = 0x8;
constexpr size_t read_budget = size_t{64} * 1024;
// The fds one message may carry (VHOST_MEMORY_BASELINE_NREGIONS); the
// kernel closes what does not fit (MSG_CTRUNC).
constexpr size_t max_fds = 8;

} // namespace

Result<std::vector<BackendMessage>> BackendMessageParser::feed(std::span<const uint8_t> bytes)
{
	std::vector<BackendMessage> messages;
	size_t at = 0;
	while (at < bytes.size()) {
		if (skip_ > 0) {
			size_t n = std::min<size_t>(skip_, bytes.size() - at);
			skip_ -= static_cast<uint32_t>(n);
			at += n;
			continue;
		}
		size_t n = std::min(header_.size() - header_have_, bytes.size() - at);
		std::memcpy(header_.data() + header_have_, bytes.data() + at, n);
		header_have_ += n;
		at += n;
		if (header_have_ < header_.size())
			break;
		header_have_ = 0;
		Header header{};
		std::memcpy(&header, header_.data(), sizeof(header));
		std::string which = "back-end message " + std::to_string(header.request);
		if ((header.flags & flag_version_mask) != flag_version)
			return failure(which + " has version " +
			               std::to_string(header.flags & flag_version_mask) +
			               ", not 1");
		if (header.flags & flag_reply)
			return failure(which + " is a reply, and nothing was asked");
		if (header.size > vhost_user::backend_max_payload)
			return failure(which + " has a payload of " + std::to_string(header.size) +
			               " bytes, more than " +
			               std::to_string(vhost_user::backend_max_payload));
		skip_ = header.size;
		messages.push_back({header.request, (header.flags & flag_need_reply) != 0});
	}
	return messages;
}

VhostUserBackendChannel::VhostUserBackendChannel(UniqueFd fd, std::string label)
        : fd_(std::move(fd)), label_(std::move(label))
{
	int flags = ::fcntl(fd_.get(), F_GETFL);
	if (flags >= 0)
		(void)::fcntl(fd_.get(), F_SETFL, flags | O_NONBLOCK);
}

Result<BackendEvents> VhostUserBackendChannel::serve()
{
	BackendEvents events;
	size_t taken = 0;
	std::array<uint8_t, 4096> buffer{};
	while (taken < read_budget) {
		iovec iov{buffer.data(), buffer.size()};
		alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int) * max_fds)> control{};
		msghdr msg{};
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = control.data();
		msg.msg_controllen = control.size();
		ssize_t got = ::recvmsg(fd_.get(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (got < 0)
			return system_error(errno, label_ + ": cannot read its back-end channel");
		// No message vdused follows carries an fd: close what came.
		for (cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < count; ++i) {
				int fd = -1;
				std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				UniqueFd closed(fd);
			}
		}
		if (got == 0)
			return failure(label_ + " closed its back-end channel");
		taken += static_cast<size_t>(got);
		auto messages = parser_.feed({buffer.data(), static_cast<size_t>(got)});
		if (!messages)
			return failure(label_ + ": " + messages.error().message);
		for (const BackendMessage &m : *messages) {
			bool follow = m.request == vhost_user::backend_config_change;
			if (follow)
				++events.config_changes;
			else
				++events.refused;
			if (m.need_reply) {
				if (auto st = answer(m.request, follow ? 0 : 1); !st)
					return st.error();
			}
		}
	}
	return events;
}

Status VhostUserBackendChannel::answer(uint32_t request, uint64_t result)
{
	Header header{request, flag_version | flag_reply, sizeof(result)};
	std::array<uint8_t, sizeof(Header) + sizeof(result)> reply{};
	std::memcpy(reply.data(), &header, sizeof(header));
	std::memcpy(reply.data() + sizeof(header), &result, sizeof(result));
	ssize_t sent;
	do
		sent = ::send(fd_.get(), reply.data(), reply.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
	while (sent < 0 && errno == EINTR);
	// A full socket: the target asks for answers it does not read.
	if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return failure(label_ + " does not read the answers on its back-end channel");
	if (sent < 0)
		return system_error(errno, label_ + ": cannot answer on its back-end channel");
	if (static_cast<size_t>(sent) != reply.size())
		return failure(label_ + ": a short write on its back-end channel");
	return {};
}

} // namespace vduse
