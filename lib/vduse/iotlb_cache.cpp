#include "vduse/iotlb_cache.h"

#include <algorithm>

namespace vduse
{

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
	return translate_regions([this](uint64_t at) { return find(at); }, iova, len, access, out);
}

void *IotlbCache::translate_contiguous(uint64_t iova, uint64_t len, Access access)
{
	return translate_region_contiguous([this](uint64_t at) { return find(at); }, iova, len,
	                                   access);
}

} // namespace vduse
