// pidfds (pidfd_open(2)): a reference to a process that turns readable when
// it has exited, whatever its pid becomes afterwards.
#pragma once

#include "base/unique_fd.h"

#include <poll.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

namespace vduse
{

// Empty if the process is gone or pidfds are not supported.
inline UniqueFd open_pidfd(pid_t pid)
{
	return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

// Whether the process of pidfd has exited; false for an empty pidfd.
inline bool process_exited(const UniqueFd &pidfd)
{
	pollfd fd{pidfd.get(), POLLIN, 0};
	return pidfd && ::poll(&fd, 1, 0) == 1;
}

} // namespace vduse
