#include "vduse/iotlb.h"

#include "base/unique_fd.h"

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <linux/vduse.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>

namespace vduse
{

const Iotlb::RegionView *Iotlb::region_for(uint64_t iova)
{
	auto it = regions_.lower_bound(iova);
	if (it != regions_.end() && it->second.view.first <= iova)
		return &it->second.view;

	vduse_iotlb_entry entry{};
	entry.start = iova;
	entry.last = iova;
	int fd = ::ioctl(device_fd_, VDUSE_IOTLB_GET_FD, &entry);
	if (fd < 0)
		return nullptr;
	UniqueFd file(fd);
	if (entry.last < entry.start || entry.start > iova || entry.last < iova)
		return nullptr;
	uint64_t length = entry.last - entry.start + 1;
	bool readable = entry.perm & VDUSE_ACCESS_RO;
	bool writable = entry.perm & VDUSE_ACCESS_WO;
	int prot = (readable ? PROT_READ : 0) | (writable ? PROT_WRITE : 0);
	void *addr = ::mmap(nullptr, length, prot, MAP_SHARED, file.get(),
	                    static_cast<off_t>(entry.offset));
	if (addr == MAP_FAILED) {
		spdlog::warn("cannot map IOVA region {:#x}-{:#x}: {}", entry.start, entry.last,
		             std::strerror(errno));
		return nullptr;
	}
	auto [pos, inserted] = regions_.emplace(
	        entry.last, Region{RegionView{entry.start, entry.last, static_cast<uint8_t *>(addr),
	                                      readable, writable},
	                           Mapping(addr, length), std::move(file), entry.offset});
	if (!inserted)
		return nullptr;
	return &pos->second.view;
}

std::optional<Iotlb::RegionView> Iotlb::lookup(uint64_t iova)
{
	std::lock_guard lock(mutex_);
	const RegionView *r = region_for(iova);
	if (!r)
		return std::nullopt;
	return *r;
}

std::optional<Iotlb::SharedRegion> Iotlb::find_mapped(const void *address)
{
	std::lock_guard lock(mutex_);
	const auto *p = static_cast<const uint8_t *>(address);
	for (const auto &[last, region] : regions_) {
		const RegionView &v = region.view;
		if (p >= v.base && p - v.base <= static_cast<ptrdiff_t>(v.last - v.first)) {
			int fd = ::fcntl(region.file.get(), F_DUPFD_CLOEXEC, 0);
			if (fd < 0)
				return std::nullopt;
			return SharedRegion{v, UniqueFd(fd), region.offset};
		}
	}
	return std::nullopt;
}

void Iotlb::invalidate(uint64_t first, uint64_t last)
{
	std::lock_guard lock(mutex_);
	for (auto it = regions_.lower_bound(first); it != regions_.end();) {
		if (it->second.view.first > last)
			break;
		it = regions_.erase(it);
	}
}

} // namespace vduse
