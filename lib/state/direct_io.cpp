// Its own file: the kernel's struct statx (linux/stat.h) has the direct I/O
// fields that glibc 2.36's lacks, and the two cannot meet in one file.
#include "state/direct_io.h"

#include <algorithm>
#include <fcntl.h>
#include <linux/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace vduse
{

uint32_t direct_io_alignment(int fd, uint32_t fallback)
{
	struct statx stx = {};
	if (::syscall(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) < 0 ||
	    !(stx.stx_mask & STATX_DIOALIGN) || stx.stx_dio_mem_align == 0)
		return fallback;
	// Lengths follow the offset alignment; one value covers both.
	return std::max(stx.stx_dio_mem_align, stx.stx_dio_offset_align);
}

} // namespace vduse
