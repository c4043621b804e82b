// Which processes have a file open: what fuser(1) tells, read from /proc.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

namespace vduse
{

struct FdHolder {
	pid_t pid = 0;
	std::string command; // /proc/PID/comm
};

// The processes with a file descriptor on path (compared by device and
// inode), this one excluded. Processes that vanish or hide their fds are
// skipped.
std::vector<FdHolder> fd_holders(const std::string &path);

// "pid 123 (qemu-system-x86), pid 456 (fio)"
std::string describe_holders(const std::vector<FdHolder> &holders);

} // namespace vduse
