// The device's IOTLB as seen by the daemon: regions fetched lazily from the
// kernel with VDUSE_IOTLB_GET_FD and mmap()ed, until an UPDATE_IOTLB message
// invalidates them.
#pragma once

#include "base/mapping.h"
#include "base/unique_fd.h"
#include "vduse/bounce_memory.h"
#include "vduse/memory_faults.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <linux/vduse.h>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

namespace vduse
{

// Shared by the control thread (which invalidates) and the queue workers
// (which look regions up, through their own IotlbCache): locked.
class Iotlb
{
public:
	explicit Iotlb(int device_fd) : device_fd_(device_fd) {}

	struct RegionView {
		uint64_t first = 0;
		uint64_t last = 0;
		uint8_t *base = nullptr; // host address of first
		bool readable = false;   // the driver lets the device read it
		bool writable = false;   // and write it
		bool pinnable = true;    // the kernel can pin its pages (direct I/O works)
	};
	// The mapped region holding iova, if the kernel has one.
	std::optional<RegionView> lookup(uint64_t iova);

	// False once a request's data was found in a region whose pages the
	// kernel cannot pin (get_user_pages), so that direct I/O (O_DIRECT,
	// and file systems that pin even buffered I/O, such as 9p) into it
	// fails with EFAULT; a backend then stages the data through memory of
	// its own. Each region is probed when it is mapped (RegionView::pinnable),
	// and a queue's IotlbCache reports the first data buffer in one that is
	// not, before the request reaches the backend.
	bool pinnable() const { return data_pinnable_.load(std::memory_order_relaxed); }
	void data_in_unpinnable_region(const RegionView &region);

	// A mapped region found by an address inside our mapping of it, with
	// what another process needs to map it too (a bridge's target).
	struct SharedRegion {
		RegionView view;
		UniqueFd file;       // a duplicate of the kernel's fd
		uint64_t offset = 0; // of view.first in file
	};
	std::optional<SharedRegion> find_mapped(const void *address);
	// The region holding iova, mapped if it was not yet; nullopt if the
	// kernel has none there.
	std::optional<SharedRegion> find_iova(uint64_t iova);

	// The kernel's IOTLB entry at or after from, as it is (not mapped
	// here); nullopt if there is none.
	struct KernelEntry {
		uint64_t first = 0;
		uint64_t last = 0;
		uint64_t offset = 0; // of first in file
		UniqueFd file;
	};
	std::optional<KernelEntry> next_kernel_entry(uint64_t from) const;

	// What becomes of our mappings of the regions an invalidation drops.
	enum class Invalidation {
		// Unmapped. The caller guarantees that nothing uses a pointer into
		// them any more (nor into those retire kept: they go too).
		unmap,
		// Something (a request a reset left running in a library) may
		// still write through pointers into them: each is replaced in place
		// by private anonymous memory that takes those writes and is
		// unmapped by release_fences(), and the daemon's bounce memory is
		// not registered again until then (the kernel's pages serve the
		// bounce region meanwhile). The driver's memory is never written
		// again. What retire kept is fenced too.
		fence,
		// Requests the driver still waits for (an IOTLB change while they
		// are in flight) use pointers into them: they stay mapped as they
		// are, out of reach of lookups, until release_retired(). Their
		// data and status byte reach the file the driver gave at the time
		// it made the request, as a DMA started before the change would.
		retire,
	};
	// Drops every region overlapping [first, last] from the IOTLB.
	void invalidate(uint64_t first, uint64_t last, Invalidation how = Invalidation::unmap);
	// Whether every region mapped here that overlaps [first, last] is still
	// the kernel's, unchanged (same IOVAs, file, offset and access). The
	// kernel announces every new memory table of a VMM as a change of the
	// whole range (drivers/vdpa/vdpa_user/vduse_dev.c, vduse_vdpa_set_map),
	// though a VMM that adds or removes a region leaves the others as they
	// were: those need not stop the queues.
	bool unchanged(uint64_t first, uint64_t last);
	// Whether two fds are the same file.
	static bool same_file(int a, int b);
	bool fenced();
	void release_fences();
	bool retired();
	void release_retired();

	// The daemon's own bounce memory (virtio_vdpa only): the bounce region
	// is served from it once registered with VDUSE_IOTLB_REG_UMEM, which
	// happens at the first lookup that finds the region (the kernel makes
	// the region at the driver's first DMA mapping, not before). Drops a
	// registration left by another process. on_change(registered) is called
	// under the lock when the registration changes.
	void use_bounce_memory(const BounceMemory *memory, std::function<void(bool)> on_change);
	// Deregisters it (at a reset and at the end): the kernel copies the
	// pages still in use back to its own. The caller guarantees that no
	// queue worker uses a pointer into the region.
	void release_bounce_memory();

private:
	struct Region {
		RegionView view;
		Mapping mapping;
		UniqueFd file;
		uint64_t offset = 0;
		MemoryFaults::Watch watch; // goes before the mapping
	};
	// The kernel's IOTLB entry holding iova into entry, and its file; an
	// empty fd if there is none.
	UniqueFd kernel_entry(uint64_t iova, vduse_iotlb_entry &entry) const;
	// region with a duplicate of its fd, for another process to map.
	static std::optional<SharedRegion> share(const Region &region);
	// The region holding iova, mapped on first use; nullptr if the kernel has none.
	const RegionView *region_for(uint64_t iova);
	// The bounce region [0, last] served from the daemon's memory, registered
	// now if need be; nullptr if it is not the bounce region or cannot be.
	const RegionView *bounce_region(uint64_t last, bool readable, bool writable);

	// Whether the kernel can pin the pages of a region just mapped, iova
	// being the address a request is about to use.
	static bool probe_pinning(const RegionView &view, uint64_t iova);
	// Replaces mapping (of IOVAs first..last) by anonymous memory, in place,
	// and keeps it in fences_.
	void fence(Mapping mapping, uint64_t first, uint64_t last);

	int device_fd_;
	std::atomic<bool> data_pinnable_{true};
	std::mutex mutex_;
	std::map<uint64_t, Region> regions_; // keyed by last address
	const BounceMemory *bounce_ = nullptr;
	bool bounce_registered_ = false;
	bool bounce_refused_ = false;  // said once why it cannot be used
	bool bounce_fenced_ = false;   // not to be registered until release_fences()
	bool short_file_said_ = false; // a region past its file's end, logged once
	std::vector<Mapping> fences_;  // anonymous memory where our mappings were
	std::vector<Region> retired_;  // regions an IOTLB change dropped, still mapped
	std::function<void(bool)> on_bounce_change_;
};

} // namespace vduse
