// A queue worker's private view of the IOTLB: the few regions it uses, looked
// up without a lock. Valid until the IOTLB changes; the device server stops
// the workers before it invalidates anything, and a restarted worker starts
// with an empty cache.
#pragma once

#include "vduse/iotlb.h"
#include "virtio/guest_memory.h"

#include <array>

namespace vduse
{

class IotlbCache final : public GuestMemory
{
public:
	explicit IotlbCache(Iotlb &iotlb) : iotlb_(iotlb) {}

	bool translate(uint64_t iova, uint64_t len, Access access,
	               std::vector<iovec> &out) override;
	void *translate_contiguous(uint64_t iova, uint64_t len, Access access) override;

private:
	const Iotlb::RegionView *find(uint64_t iova);

	Iotlb &iotlb_;
	static constexpr size_t slots = 8;
	std::array<Iotlb::RegionView, slots> regions_{};
	size_t used_ = 0;
	size_t next_victim_ = 0;
};

} // namespace vduse
