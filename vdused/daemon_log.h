// vdused's messages (the daemon log, not the in-flight log): to the journal
// with structured fields when systemd connected stderr to it, to stderr
// otherwise. One logger for the device and one per queue worker.
#pragma once

#include <cstdint>
#include <memory>
#include <spdlog/logger.h>
#include <string>

namespace vduse
{

// Makes the device's logger the default one; debug messages with verbose.
void setup_daemon_log(const std::string &device, bool verbose);

// The logger of queue INDEX: its messages read "DEVICE: queue INDEX: ..." and
// carry VDUSE_QUEUE=INDEX in the journal, at the default logger's level.
std::shared_ptr<spdlog::logger> queue_logger(const std::string &device, uint32_t index);

} // namespace vduse
