// Where vdused's spdlog messages go: to the journal with structured fields
// when systemd connected stderr to it, to stderr otherwise.
#pragma once

#include <cstdint>
#include <string>

namespace vduse
{

// Sets up the default logger for the device NAME; debug messages with verbose.
void setup_logging(const std::string &device, bool verbose);

// Tags this thread's journal entries with QUEUE=index (a queue worker).
void set_log_queue(uint32_t index);

} // namespace vduse
