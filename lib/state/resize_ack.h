// vdused's answer to a resize: vdusectl resize writes the new size into the
// device's record and sends vdused SIGHUP; vdused applies it and writes
// STATE_DIR/NAME.resized: the size it applied, or why it could not.
#pragma once

#include "base/result.h"

#include <cstdint>
#include <filesystem>
#include <string>

namespace vduse
{

struct ResizeAck {
	uint64_t size_bytes = 0; // the size applied (or asked for, on error)
	std::string error;       // "" when applied
};

Status write_resize_ack(const std::filesystem::path &path, const ResizeAck &ack);
Result<ResizeAck> read_resize_ack(const std::filesystem::path &path);

} // namespace vduse
