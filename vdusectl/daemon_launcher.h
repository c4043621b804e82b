// Starting vdused for a device and waiting until it is ready (sd_notify
// READY=1 on a socket of our own, the same protocol systemd uses), and
// stopping it.
#pragma once

#include "base/result.h"
#include "state/state_dir.h"

#include <chrono>
#include <string>
#include <sys/types.h>

namespace vduse
{

// $VDUSED, else vdused beside this executable, else the install path.
std::string find_vdused();

Result<pid_t> start_daemon(const StateDir &state, const std::string &name, bool verbose,
                           std::chrono::milliseconds timeout);
// SIGTERM, then SIGKILL after the timeout; waits until the process is gone.
Status stop_daemon(pid_t pid, const std::string &name, std::chrono::milliseconds timeout);
// pid is a vdused serving name.
bool daemon_alive(pid_t pid, const std::string &name);

} // namespace vduse
