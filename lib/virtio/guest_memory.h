// Access to the driver's memory by I/O virtual address. The IOTLB implements
// it for real devices; unit tests implement it over a plain buffer.
#pragma once

#include <cstdint>
#include <sys/uio.h>
#include <vector>

namespace vduse
{

enum class Access { read, write };

class GuestMemory
{
public:
	virtual ~GuestMemory() = default;

	// Appends iovecs covering [iova, iova + len) with the given access.
	// Returns false (and may have appended a partial list) if any byte is not
	// mapped with that access or the range wraps.
	virtual bool translate(uint64_t iova, uint64_t len, Access access,
	                       std::vector<iovec> &out) = 0;

	// A pointer to [iova, iova + len) if it is mapped contiguously, else nullptr.
	virtual void *translate_contiguous(uint64_t iova, uint64_t len, Access access) = 0;
};

} // namespace vduse
