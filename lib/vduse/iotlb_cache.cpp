#include "vduse/iotlb_cache.h"

#include <algorithm>

namespace vduse
{

namespace
{

// The mapping's protection would fault on the other access: check first
// (a write-only region is PROT_WRITE, which x86 reads anyway).
bool allows(const Iotlb::RegionView &region, Access access)
{
	return access == Access::write ? region.writable : region.readable;
}

} // namespace

const Iotlb::RegionView *IotlbCache::find(uint64_t iova)
{
	for (size_t i = 0; i < used_; ++i) {
		if (regions_[i].first <= iova && iova <= regions_[i].last)
			return &regions_[i];
	}
	auto region = iotlb_.lookup(iova);
	if (!region)
		return nullptr;
	size_t slot = used_ < slots ? used_++ : next_victim_++ % slots;
	regions_[slot] = *region;
	return &regions_[slot];
}

bool IotlbCache::translate(uint64_t iova, uint64_t len, Access access, std::vector<iovec> &out)
{
	if (len == 0)
		return true;
	if (iova + len - 1 < iova)
		return false;
	while (len > 0) {
		const Iotlb::RegionView *r = find(iova);
		if (!r || !allows(*r, access))
			return false;
		if (!r->pinnable && iotlb_.pinnable())
			iotlb_.data_in_unpinnable_region(*r);
		uint64_t chunk = std::min(len, r->last - iova + 1);
		uint8_t *base = r->base + (iova - r->first);
		// Buffers side by side in one entry are one piece (the kernel's
		// bounce pages often are, when it maps a request's segments
		// one after another): fewer pieces for the backends, and a
		// request in one piece needs no gathering. Only within one
		// entry: two mappings next to each other in our address space
		// need not be in IOVA.
		const bool joins =
		        !out.empty() &&
		        static_cast<uint8_t *>(out.back().iov_base) + out.back().iov_len == base &&
		        static_cast<uint8_t *>(out.back().iov_base) >= r->base;
		if (joins)
			out.back().iov_len += chunk;
		else
			out.push_back({base, chunk});
		len -= chunk;
		iova += chunk;
	}
	return true;
}

void *IotlbCache::translate_contiguous(uint64_t iova, uint64_t len, Access access)
{
	if (len == 0 || iova + len - 1 < iova)
		return nullptr;
	const Iotlb::RegionView *r = find(iova);
	if (!r || !allows(*r, access) || iova + len - 1 > r->last)
		return nullptr;
	return r->base + (iova - r->first);
}

} // namespace vduse
