// Direct rings (`--rings direct`): the vhost-user target serves the
// driver's own virtqueues, as it serves a VM's. vdused hands it the VDUSE
// domain (rings and bounce buffer, guest address = IOVA), passes the
// driver's kicks on (VDUSE signals an eventfd of ours, VDUSE_VQ_SETUP_KICKFD,
// and we the target's), and turns the target's call eventfd into
// VDUSE_VQ_INJECT_IRQ: VDUSE has no irqfd towards virtio_vdpa. No request
// passes through vdused, so the target is trusted as much as the kernel
// (docs/DATA-PATH.md, "Direct rings"): it writes the used ring the driver
// reads.
//
// What the target holds when it dies is made available again for the next
// one: vdused follows each ring at every completion (virtio/ring_tracker.h)
// in a record kept in a file of vdused's state directory, so that it
// outlives a restart of vdused too.
#pragma once

#include "base/mapping.h"
#include "base/result.h"
#include "base/unique_fd.h"
#include "direct_ring_stats.h"
#include "state/device_spec.h"
#include "vduse/iotlb.h"
#include "vduse/iotlb_cache.h"
#include "vduse/vduse_device.h"
#include "vhost_user_link.h"
#include "virtio/ring_tracker.h"

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace vduse
{

class VhostUserDirect
{
public:
	// record_path: the rings' record (created if missing); stats: where
	// each ring's requests are counted.
	static Result<std::unique_ptr<VhostUserDirect>>
	open(const VduseDevice &device, Iotlb &iotlb, VhostUserLink &link, const DeviceSpec &spec,
	     const std::filesystem::path &record_path, StatsFile &stats);
	VhostUserDirect(const VduseDevice &device, Iotlb &iotlb, VhostUserLink &link,
	                const DeviceSpec &spec, Mapping record, UniqueFd stop);
	~VhostUserDirect();
	VhostUserDirect(const VhostUserDirect &) = delete;
	VhostUserDirect &operator=(const VhostUserDirect &) = delete;

	// Hands the driver's rings to the target (now, or at its next
	// connection). fresh: a new driver session (DRIVER_OK), whose rings
	// start at the kernel's avail index with an empty in-flight record;
	// otherwise the record says where to go on (a takeover from a dead
	// vdused, or after an IOTLB change).
	Status start(bool fresh);
	// Takes the rings back (a reset, an IOTLB change, vdused stopping): the
	// target stops taking requests, and what it holds is waited for while
	// a target that may write into the driver's memory lives, up to a
	// bound.
	void stop();

private:
	struct Ring {
		uint32_t index = 0;
		vduse_vq_info info{};
		// VDUSE signals kick; we pass it on to target_kick, which the
		// target waits on. Not one eventfd: the kernel would go on
		// kicking a target whose front-end died (or dropped it), and
		// qemu-storage-daemon 7.2 aborts on a request that comes while it
		// waits for its in-flight ones after a disconnect
		// (util/vhost-user-server.c, vhost_user_server_ref: wait_idle).
		UniqueFd kick;
		UniqueFd target_kick;
		UniqueFd call; // the target signals it; we inject the interrupt
		RingTracker tracker;
		SplitRingView view; // valid while running_
		bool unknown_said = false;
		DirectRingStats counter; // what the tracker reads, for stats
	};
	void run();
	// Sets the rings up on the link's connection of generation; under mutex_.
	Status setup_locked(uint64_t generation);
	// The driver's memory as the target's regions: the VDUSE domain
	// [0, end of the last IOTLB entry] in one region (its file maps IOVA
	// x at offset x: drivers/vdpa/vdpa_user/iova_domain.c).
	Status hand_memory_locked();
	uint16_t used_index(const Ring &ring) const;
	// VDUSE_VQ_INJECT_IRQ.
	void interrupt(Ring &ring) const;
	// The ring's avail and used rings as we map them; false if unmapped.
	bool map_ring(Ring &ring);
	// Waits until the target finished what it took from each ring (up to
	// the avail indexes in bases), or no target may write any more.
	void drain_locked(const std::vector<uint16_t> &bases);

	const VduseDevice &device_;
	Iotlb &iotlb_;
	VhostUserLink &link_;
	DeviceSpec spec_;
	Mapping record_;
	UniqueFd stop_;
	std::vector<Ring> rings_;
	std::optional<IotlbCache> memory_; // the driver's, while running_ (for stats)
	std::thread thread_;
	std::mutex mutex_; // what follows, and start/stop against the thread
	bool running_ = false;
	bool memory_handed_ = false; // since the last start
	uint64_t user_base_ = 0;     // the target's user address of IOVA 0
	uint64_t driver_features_ = 0;
	uint64_t generation_ = 0; // the connection the rings are set up on; 0: none
};

} // namespace vduse
