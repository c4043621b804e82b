#include "vduse/iotlb.h"

#include "base/unique_fd.h"

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <linux/vduse.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace vduse
{

UniqueFd Iotlb::kernel_entry(uint64_t iova, vduse_iotlb_entry &entry) const
{
	entry = {};
	entry.start = iova;
	entry.last = iova;
	return UniqueFd(::ioctl(device_fd_, VDUSE_IOTLB_GET_FD, &entry));
}

std::optional<Iotlb::KernelEntry> Iotlb::next_kernel_entry(uint64_t from) const
{
	// The first entry overlapping [start, last] (drivers/vdpa/vdpa_user/
	// vduse_dev.c, VDUSE_IOTLB_GET_FD: vhost_iotlb_itree_first).
	vduse_iotlb_entry entry{};
	entry.start = from;
	entry.last = UINT64_MAX;
	UniqueFd file(::ioctl(device_fd_, VDUSE_IOTLB_GET_FD, &entry));
	if (!file || entry.last < entry.start || entry.last < from)
		return std::nullopt;
	return KernelEntry{entry.start, entry.last, entry.offset, std::move(file)};
}

const Iotlb::RegionView *Iotlb::region_for(uint64_t iova)
{
	auto it = regions_.lower_bound(iova);
	if (it != regions_.end() && it->second.view.first <= iova)
		return &it->second.view;

	vduse_iotlb_entry entry{};
	UniqueFd file = kernel_entry(iova, entry);
	if (!file)
		return nullptr;
	if (entry.last < entry.start || entry.start > iova || entry.last < iova)
		return nullptr;
	uint64_t length = entry.last - entry.start + 1;
	bool readable = entry.perm & VDUSE_ACCESS_RO;
	bool writable = entry.perm & VDUSE_ACCESS_WO;
	if (bounce_ && entry.start == 0) {
		if (const RegionView *view = bounce_region(entry.last, readable, writable))
			return view;
	}
	// A VMM's memory file shorter than the region it mapped (a memfd
	// truncated, or never sized): a touch past its end is SIGBUS, which
	// would kill vdused. Such a region is not mapped; its requests fail.
	if (struct stat st{}; ::fstat(file.get(), &st) == 0 && S_ISREG(st.st_mode) &&
	                      (static_cast<uint64_t>(st.st_size) < entry.offset ||
	                       static_cast<uint64_t>(st.st_size) - entry.offset < length)) {
		if (!std::exchange(short_file_said_, true))
			spdlog::warn(
			        "IOVA region {:#x}-{:#x} runs past the end of the driver's "
			        "memory file ({} bytes from offset {}, of {}): not mapped, its "
			        "requests fail (logged once)",
			        entry.start, entry.last, length, entry.offset, st.st_size);
		return nullptr;
	}
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
	                           Mapping(addr, length), std::move(file), entry.offset,
	                           MemoryFaults::instance().watch(addr, length, entry.start)});
	if (!inserted)
		return nullptr;
	pos->second.view.pinnable = probe_pinning(pos->second.view, iova);
	return &pos->second.view;
}

bool Iotlb::probe_pinning(const RegionView &view, uint64_t iova)
{
	// Since Linux 6.12.118 VDUSE marks its mmap of the bounce and coherent
	// pages VM_IO (drivers/vdpa/vdpa_user/iova_domain.c, vduse_domain_mmap),
	// and get_user_pages refuses a VM_IO mapping (mm/gup.c,
	// check_vma_flags): O_DIRECT into it fails with EFAULT. MADV_POPULATE_*
	// walks the same check and says EINVAL for such a mapping (or one
	// without the access asked for: hence WRITE for a write-only region);
	// a page that is merely not there (a bounce page not in use: SIGBUS)
	// is EFAULT, and a pinnable page is faulted in without being changed.
	// The page probed is the one a request is about to use.
	if (!view.readable && !view.writable)
		return true;
	auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
	uint8_t *at = view.base + ((iova - view.first) & ~(page - 1));
	int advice = view.readable ? MADV_POPULATE_READ : MADV_POPULATE_WRITE;
	return ::madvise(at, page, advice) == 0 || errno != EINVAL;
}

void Iotlb::data_in_unpinnable_region(const RegionView &region)
{
	if (data_pinnable_.exchange(false, std::memory_order_relaxed))
		spdlog::info("the kernel cannot pin its mapping of IOVA {:#x}-{:#x}, where the "
		             "driver's data is, for direct I/O (VM_IO): the file and loop "
		             "backends stage data through vdused's memory "
		             "(--bounce-memory shmem or hugepage avoids the copy)",
		             region.first, region.last);
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
		if (p >= v.base && p - v.base <= static_cast<ptrdiff_t>(v.last - v.first))
			return share(region);
	}
	return std::nullopt;
}

bool Iotlb::same_file(int a, int b)
{
	struct stat sa {
	};
	struct stat sb {
	};
	return ::fstat(a, &sa) == 0 && ::fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

bool Iotlb::unchanged(uint64_t first, uint64_t last)
{
	std::lock_guard lock(mutex_);
	if (!fences_.empty())
		return false;
	for (const auto &[end, region] : regions_) {
		const RegionView &v = region.view;
		if (v.last < first || v.first > last)
			continue;
		if (!region.file)
			return false; // the daemon's own bounce memory: not asked
		vduse_iotlb_entry entry{};
		UniqueFd file = kernel_entry(v.first, entry);
		if (!file)
			return false;
		bool readable = entry.perm & VDUSE_ACCESS_RO;
		bool writable = entry.perm & VDUSE_ACCESS_WO;
		if (entry.start != v.first || entry.last != v.last ||
		    entry.offset != region.offset || readable != v.readable ||
		    writable != v.writable || !same_file(file.get(), region.file.get()))
			return false;
	}
	return true;
}

std::optional<Iotlb::SharedRegion> Iotlb::find_iova(uint64_t iova)
{
	std::lock_guard lock(mutex_);
	const RegionView *v = region_for(iova);
	if (!v)
		return std::nullopt;
	auto it = regions_.find(v->last);
	if (it == regions_.end() || it->second.view.base != v->base)
		return std::nullopt; // the daemon's own bounce memory: not a file region
	return share(it->second);
}

std::optional<Iotlb::SharedRegion> Iotlb::share(const Region &region)
{
	int fd = ::fcntl(region.file.get(), F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return std::nullopt;
	return SharedRegion{region.view, UniqueFd(fd), region.offset};
}

const Iotlb::RegionView *Iotlb::bounce_region(uint64_t last, bool readable, bool writable)
{
	// Only the bounce region has the capability: under vhost_vdpa a VM's
	// memory may start at IOVA 0 too.
	vduse_iova_info info{};
	info.start = 0;
	info.last = 0;
	if (::ioctl(device_fd_, VDUSE_IOTLB_GET_INFO, &info) < 0 ||
	    !(info.capability & VDUSE_IOVA_CAP_UMEM) || info.last != last)
		return nullptr;
	if (bounce_fenced_)
		return nullptr;
	if (last + 1 != bounce_->size()) {
		if (!std::exchange(bounce_refused_, true))
			spdlog::error("the bounce region is {} bytes, the bounce memory {}: the "
			              "kernel's pages are used",
			              last + 1, bounce_->size());
		return nullptr;
	}
	if (!bounce_registered_) {
		vduse_iova_umem umem{};
		umem.uaddr = reinterpret_cast<uintptr_t>(bounce_->data());
		umem.iova = 0;
		umem.size = bounce_->size();
		// EEXIST: ours, kept by the kernel across a reset we did not see
		// (another process's was dropped in use_bounce_memory).
		if (::ioctl(device_fd_, VDUSE_IOTLB_REG_UMEM, &umem) < 0 && errno != EEXIST) {
			if (!std::exchange(bounce_refused_, true))
				spdlog::error(
				        "cannot register the bounce memory with the kernel "
				        "(VDUSE_IOTLB_REG_UMEM): {}; the kernel's pages are used",
				        std::strerror(errno));
			return nullptr;
		}
		bounce_registered_ = true;
		spdlog::info("bounce memory registered: {} MiB of {}", bounce_->size() >> 20,
		             bounce_->kind());
		if (on_bounce_change_)
			on_bounce_change_(true);
	}
	int fd = ::fcntl(bounce_->fd(), F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return nullptr;
	auto [pos, inserted] = regions_.emplace(
	        last, Region{RegionView{0, last, bounce_->data(), readable, writable}, Mapping(),
	                     UniqueFd(fd), 0, MemoryFaults::Watch()});
	if (!inserted)
		return nullptr;
	return &pos->second.view;
}

void Iotlb::use_bounce_memory(const BounceMemory *memory, std::function<void(bool)> on_change)
{
	std::lock_guard lock(mutex_);
	bounce_ = memory;
	on_bounce_change_ = std::move(on_change);
	if (!memory)
		return;
	vduse_iova_umem umem{};
	umem.iova = 0;
	umem.size = memory->size();
	// Fails with ENOENT when nothing is registered, as it should be: the
	// kernel drops a registration when its process closes the device
	// (drivers/vdpa/vdpa_user/vduse_dev.c, vduse_dev_release), unless
	// another process holds a duplicate of that fd.
	if (::ioctl(device_fd_, VDUSE_IOTLB_DEREG_UMEM, &umem) == 0)
		spdlog::info("dropped bounce memory another process had registered");
}

void Iotlb::release_bounce_memory()
{
	std::lock_guard lock(mutex_);
	if (!bounce_registered_)
		return;
	// Our views of it would no longer be what the kernel copies to.
	for (auto it = regions_.begin(); it != regions_.end();) {
		if (it->second.view.first == 0 && it->second.view.base == bounce_->data())
			it = regions_.erase(it);
		else
			++it;
	}
	vduse_iova_umem umem{};
	umem.iova = 0;
	umem.size = bounce_->size();
	if (::ioctl(device_fd_, VDUSE_IOTLB_DEREG_UMEM, &umem) < 0)
		spdlog::warn("cannot deregister the bounce memory: {}", std::strerror(errno));
	bounce_registered_ = false;
	if (on_bounce_change_)
		on_bounce_change_(false);
}

void Iotlb::fence(Mapping mapping, uint64_t first, uint64_t last)
{
	// MAP_FIXED replaces the shared mapping atomically: a late write lands
	// in the anonymous pages, never in the driver's.
	void *addr = ::mmap(mapping.data(), mapping.size(), PROT_READ | PROT_WRITE,
	                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	if (addr == MAP_FAILED) {
		// Nothing may write there now: no access at all.
		spdlog::error("cannot fence IOVA region {:#x}-{:#x} ({}): it is made inaccessible "
		              "instead",
		              first, last, std::strerror(errno));
		(void)::mprotect(mapping.data(), mapping.size(), PROT_NONE);
	}
	fences_.push_back(std::move(mapping));
}

void Iotlb::invalidate(uint64_t first, uint64_t last, Invalidation how)
{
	std::lock_guard lock(mutex_);
	if (how == Invalidation::unmap) {
		retired_.clear();
	} else if (how == Invalidation::fence) {
		for (Region &region : retired_)
			fence(std::move(region.mapping), region.view.first, region.view.last);
		retired_.clear();
	}
	for (auto it = regions_.lower_bound(first); it != regions_.end();) {
		if (it->second.view.first > last)
			break;
		Mapping &mapping = it->second.mapping;
		if (how == Invalidation::fence && !mapping.data())
			bounce_fenced_ = true; // the daemon's own bounce memory
		else if (how == Invalidation::fence)
			fence(std::move(mapping), it->second.view.first, it->second.view.last);
		else if (how == Invalidation::retire && mapping.data())
			retired_.push_back(std::move(it->second));
		it = regions_.erase(it);
	}
}

bool Iotlb::fenced()
{
	std::lock_guard lock(mutex_);
	return bounce_fenced_ || !fences_.empty();
}

void Iotlb::release_fences()
{
	std::lock_guard lock(mutex_);
	fences_.clear();
	bounce_fenced_ = false;
}

bool Iotlb::retired()
{
	std::lock_guard lock(mutex_);
	return !retired_.empty();
}

void Iotlb::release_retired()
{
	std::lock_guard lock(mutex_);
	retired_.clear();
}

} // namespace vduse
