// The device's IOTLB as seen by the daemon: regions fetched lazily from the
// kernel with VDUSE_IOTLB_GET_FD and mmap()ed, until an UPDATE_IOTLB message
// invalidates them.
#pragma once

#include "base/mapping.h"
#include "virtio/guest_memory.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>

namespace vduse
{

class Iotlb final : public GuestMemory
{
public:
	explicit Iotlb(int device_fd) : device_fd_(device_fd) {}

	bool translate(uint64_t iova, uint64_t len, Access access,
	               std::vector<iovec> &out) override;
	void *translate_contiguous(uint64_t iova, uint64_t len, Access access) override;

	struct RegionView {
		uint64_t first = 0;
		uint64_t last = 0;
		uint8_t *base = nullptr; // host address of first
		bool writable = false;
	};
	// The mapped region holding iova, if the kernel has one.
	std::optional<RegionView> lookup(uint64_t iova);

	// Unmaps every region overlapping [first, last]. The caller guarantees that
	// no queue worker uses a pointer into them any more.
	void invalidate(uint64_t first, uint64_t last);

private:
	struct Region {
		RegionView view;
		Mapping mapping;
	};
	// The region holding iova, mapped on first use; nullptr if the kernel has none.
	const RegionView *region_for(uint64_t iova);

	int device_fd_;
	std::mutex mutex_;
	std::map<uint64_t, Region> regions_; // keyed by last address
};

// The walk both Iotlb and IotlbCache do: find(iova) gives the RegionView
// holding iova, or nullptr.
template <typename Find>
bool translate_regions(Find find, uint64_t iova, uint64_t len, Access access,
                       std::vector<iovec> &out)
{
	if (len == 0)
		return true;
	if (iova + len - 1 < iova)
		return false;
	while (len > 0) {
		const Iotlb::RegionView *r = find(iova);
		if (!r || (access == Access::write && !r->writable))
			return false;
		uint64_t chunk = std::min(len, r->last - iova + 1);
		out.push_back({r->base + (iova - r->first), chunk});
		len -= chunk;
		iova += chunk;
	}
	return true;
}

template <typename Find>
void *translate_region_contiguous(Find find, uint64_t iova, uint64_t len, Access access)
{
	if (len == 0 || iova + len - 1 < iova)
		return nullptr;
	const Iotlb::RegionView *r = find(iova);
	if (!r || (access == Access::write && !r->writable) || iova + len - 1 > r->last)
		return nullptr;
	return r->base + (iova - r->first);
}

} // namespace vduse
