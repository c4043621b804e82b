// What O_DIRECT asks of the buffers on one file descriptor.
#pragma once

#include <cstdint>

namespace vduse
{

// The alignment of buffer addresses and lengths that O_DIRECT I/O on FD
// needs: the kernel's answer (statx STATX_DIOALIGN, Linux 6.1) where it
// gives one, else FALLBACK.
uint32_t direct_io_alignment(int fd, uint32_t fallback);

} // namespace vduse
