// The back-end channel of a vhost-user connection: the socket handed to the
// target with SET_BACKEND_REQ_FD, on which the target speaks first. vdused
// follows one message on it, BACKEND_CONFIG_CHANGE_MSG (the target's disk
// changed size: SPDK's bdev resize; QEMU after 7.2 at block_resize), and
// answers every other one that asks for an answer with a refusal.
// QEMU's docs/interop/vhost-user.rst, "Back-end message types".
#pragma once

#include "base/result.h"
#include "base/unique_fd.h"

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace vduse
{

namespace vhost_user
{
// VHOST_USER_BACKEND_CONFIG_CHANGE_MSG.
inline constexpr uint32_t backend_config_change = 2;
// The largest payload a back-end message may have (QEMU's backend_read
// takes at most VHOST_USER_PAYLOAD_SIZE, 4096 here as on the front-end).
inline constexpr uint32_t backend_max_payload = 4096;
} // namespace vhost_user

struct BackendMessage {
	uint32_t request = 0;
	bool need_reply = false;
};

// Cuts what a target sends on the channel into messages, their payloads
// skipped (the one vdused follows has none). Pure: the fuzz target feeds it
// anything. A stream that is not vhost-user (a wrong version, a reply
// nobody asked for, a payload over the limit) is an error, after which the
// channel is closed.
class BackendMessageParser
{
public:
	// The messages whose header is complete with these bytes.
	Result<std::vector<BackendMessage>> feed(std::span<const uint8_t> bytes);

private:
	std::array<uint8_t, 12> header_{}; // VhostUserMsg's request, flags, size
	size_t header_have_ = 0;
	uint32_t skip_ = 0; // payload bytes of the last message still to drop
};

// What one serve() found.
struct BackendEvents {
	unsigned config_changes = 0;
	unsigned refused = 0; // other messages (answered "no" when they asked)
};

class VhostUserBackendChannel
{
public:
	// fd: our end, made non-blocking here; label names the target in errors.
	VhostUserBackendChannel(UniqueFd fd, std::string label);
	int fd() const { return fd_.get(); }
	// Reads what is there (at most 64 KiB, then returns: a target that
	// floods the channel shares the thread), answers the messages that
	// ask for it, closes any fd that came with them. Never blocks. An error
	// if the channel must be closed: the target hung up, sent something
	// that is not vhost-user, or does not read its answers.
	Result<BackendEvents> serve();

private:
	Status answer(uint32_t request, uint64_t result);

	UniqueFd fd_;
	std::string label_;
	BackendMessageParser parser_;
};

} // namespace vduse
