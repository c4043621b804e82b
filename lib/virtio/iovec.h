// Helpers over scatter-gather lists of driver buffers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <sys/uio.h>
#include <vector>

namespace vduse
{

uint64_t iov_length(const std::vector<iovec> &iov);
// Copies up to len bytes starting at byte offset of iov into dst; returns the count copied.
size_t iov_copy_out(const std::vector<iovec> &iov, size_t offset, void *dst, size_t len);
// Copies up to len bytes of src into iov from byte offset on; returns the count copied.
size_t iov_copy_in(const std::vector<iovec> &iov, size_t offset, const void *src, size_t len);
inline size_t iov_copy_in(const std::vector<iovec> &iov, const void *src, size_t len)
{
	return iov_copy_in(iov, 0, src, len);
}
void iov_zero(const std::vector<iovec> &iov);
// out = the bytes of iov from offset `skip` to `length - drop_tail`.
void iov_slice(const std::vector<iovec> &iov, uint64_t skip, uint64_t drop_tail,
               std::vector<iovec> &out);

} // namespace vduse
