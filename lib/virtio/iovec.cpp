#include "virtio/iovec.h"

#include <algorithm>
#include <cstring>

namespace vduse
{

uint64_t iov_length(const std::vector<iovec> &iov)
{
	uint64_t total = 0;
	for (const auto &v : iov)
		total += v.iov_len;
	return total;
}

size_t iov_copy_out(const std::vector<iovec> &iov, size_t offset, void *dst, size_t len)
{
	auto *out = static_cast<uint8_t *>(dst);
	size_t copied = 0;
	for (const auto &v : iov) {
		if (copied == len)
			break;
		if (offset >= v.iov_len) {
			offset -= v.iov_len;
			continue;
		}
		size_t n = std::min(v.iov_len - offset, len - copied);
		std::memcpy(out + copied, static_cast<const uint8_t *>(v.iov_base) + offset, n);
		copied += n;
		offset = 0;
	}
	return copied;
}

size_t iov_copy_in(const std::vector<iovec> &iov, size_t offset, const void *src, size_t len)
{
	const auto *in = static_cast<const uint8_t *>(src);
	size_t copied = 0;
	for (const auto &v : iov) {
		if (copied == len)
			break;
		if (offset >= v.iov_len) {
			offset -= v.iov_len;
			continue;
		}
		size_t n = std::min(v.iov_len - offset, len - copied);
		std::memcpy(static_cast<uint8_t *>(v.iov_base) + offset, in + copied, n);
		copied += n;
		offset = 0;
	}
	return copied;
}

void iov_zero(const std::vector<iovec> &iov)
{
	for (const auto &v : iov)
		std::memset(v.iov_base, 0, v.iov_len);
}

void iov_slice(const std::vector<iovec> &iov, uint64_t skip, uint64_t drop_tail,
               std::vector<iovec> &out)
{
	out.clear();
	uint64_t total = iov_length(iov);
	if (skip + drop_tail >= total)
		return;
	uint64_t remaining = total - skip - drop_tail;
	for (const auto &v : iov) {
		if (remaining == 0)
			break;
		if (skip >= v.iov_len) {
			skip -= v.iov_len;
			continue;
		}
		uint64_t n = std::min<uint64_t>(v.iov_len - skip, remaining);
		out.push_back({static_cast<uint8_t *>(v.iov_base) + skip, n});
		remaining -= n;
		skip = 0;
	}
}

} // namespace vduse
