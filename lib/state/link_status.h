// The connection state of a network backend (nbd, rbd), which vdused keeps in
// STATE_DIR/NAME.link for list and show: connected, reconnecting since a
// time, or failed (requests fail until the connection comes back).
#pragma once

#include "base/result.h"

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>

namespace vduse
{

enum class LinkState { connecting, connected, reconnecting, failed };

struct LinkStatus {
	LinkState state = LinkState::connecting;
	std::time_t since = 0; // when it entered the state
	// rbd: the image's exclusive lock as this vdused holds it, so that a
	// successor can break it at once if this one dies.
	std::string lock_owner;
	// vhost-user: whether the target took the back-end channel over which
	// it says its disk changed size (vdused then follows it without
	// vdusectl resize); unset for other backends.
	std::optional<bool> follows_target_size;
};

std::string_view link_state_name(LinkState state);
// "connected", "reconnecting since 2026-11-26T05:40:01Z", ...
std::string describe_link(const LinkStatus &status);

Status write_link_status(const std::filesystem::path &path, const LinkStatus &status);
Result<LinkStatus> read_link_status(const std::filesystem::path &path);

} // namespace vduse
