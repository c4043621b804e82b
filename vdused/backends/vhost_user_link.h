// The bridge's connection to a vhost-user-blk target, shared by the queues:
// a thread connects (and after the target dies or restarts, reconnects with
// backoff), negotiates, and hands the target every memory region the queues
// registered. Queue threads set up their own vrings on each new connection
// (generation()) and ask for the target's address of the driver's buffers.
#pragma once

#include "base/mapping.h"
#include "base/unique_fd.h"
#include "link_reporter.h"
#include "remote/vhost_user_backend_channel.h"
#include "remote/vhost_user_client.h"
#include "state/device_spec.h"
#include "vduse/bounce_memory.h"
#include "vduse/iotlb.h"

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace vduse
{

// Where a queue's own rings and request headers live in the target's view.
// Far above any IOVA the VDUSE kernel hands out (drivers/vdpa/vdpa_user/
// vduse_dev.c: below 2 GiB for virtio_vdpa's bounce domain; a VM's memory for
// vhost_vdpa), and checked against every region anyway.
inline constexpr uint64_t shadow_guest_base = uint64_t{1} << 56;
inline constexpr uint64_t shadow_guest_stride = uint64_t{1} << 36; // per queue
// A target without memory slots: the one region of every queue's rings
// (RingPool), above the queues' own.
inline constexpr uint64_t ring_pool_guest_base = uint64_t{1} << 57;
// The user address the target is told for the driver's memory: IOVA + this
// (direct rings: every other time a little above, add_driver_region), above
// any address of a process (the target finds rings by user address).
inline constexpr uint64_t driver_user_base = uint64_t{1} << 62;

// A target without memory slots gets one table per connection, of at most 8
// regions (VHOST_MEMORY_BASELINE_NREGIONS): every queue's rings and headers
// in one region, made anew for each connection, so a target that was torn
// down with requests never shares ring memory with the next.
struct RingPool {
	UniqueFd file;
	Mapping mapping;
	uint64_t guest_address = 0;
	size_t slice = 0; // per queue: queue i at i * slice
};

// Where a queue sets its ring up on a connection.
struct RingSlice {
	std::shared_ptr<const RingPool> pool; // null: in the queue's own memory
	uint8_t *data = nullptr;
	uint64_t guest = 0;
};

struct GuestRange {
	const uint8_t *base = nullptr; // our mapping
	uint64_t size = 0;
	uint64_t guest = 0; // the target's address of base
};

class VhostUserLink
{
public:
	// ring_bytes: the memory of one queue's rings and headers.
	VhostUserLink(const DeviceSpec &spec, LinkReporter &reporter, size_t ring_bytes);
	~VhostUserLink();
	VhostUserLink(const VhostUserLink &) = delete;
	VhostUserLink &operator=(const VhostUserLink &) = delete;

	// A memfd of size bytes, mapped: a queue's ring memory, or a RingPool.
	static Result<std::pair<UniqueFd, Mapping>> ring_memory(const std::string &name,
	                                                        size_t size);

	// Starts the connecting thread. An error only if the thread cannot start.
	Status start();
	void attach_memory(Iotlb &iotlb) { iotlb_ = &iotlb; }
	// The daemon's own bounce memory, which holds every byte of the
	// driver's requests (virtio driver): a target without memory slots is
	// given it in its one table, with the queues' memory, at each
	// connection. Before start().
	void use_bounce_memory(const BounceMemory &memory) { bounce_ = &memory; }
	const std::string &device_name() const { return spec_.name; }
	const std::string &socket_path() const { return spec_.socket; }

	// Registers a queue's own memory (rings, headers) and the eventfd the
	// target signals; both are handed over at every connection.
	void add_queue(uint32_t index, const VhostUserRegion &shadow, int call_fd);

	// Direct rings: the driver's memory as one region (its user address is
	// the link's to choose), handed over now and at every connection until
	// invalidate() drops it. Returns the user address the target knows the
	// region's first byte at.
	uint64_t add_driver_region(VhostUserRegion region, UniqueFd file);
	// Direct rings: an eventfd written at every new connection (as a
	// queue's call eventfd is).
	void add_wake_fd(uint32_t index, int fd);
	// Runs fn with the connection of `generation` under the link's lock;
	// a failure if that connection is gone, or fn's (which drops it).
	Status on_connection(uint64_t generation,
	                     const std::function<Status(VhostUserClient &)> &fn);

	// vdusectl resize: the target's size now (GET_CONFIG on the live
	// connection); an error if no target is connected or it does not
	// answer.
	Result<uint64_t> target_size();
	// The device's size after a resize: what a target that connects again
	// must have at least (connect_locked).
	void set_device_size(uint64_t size_bytes);
	// Readable (an eventfd) once the target said its config changed
	// (BACKEND_CONFIG_CHANGE_MSG on the back-end channel): the control
	// thread asks target_size() and resizes. Reading it is the caller's.
	int target_changed_fd() const { return target_changed_.get(); }

	// Bumps at every new connection; 0 until the first.
	uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
	bool connected() const { return connected_.load(std::memory_order_acquire); }
	// Bumps when regions are removed: cached GuestRanges are stale.
	uint64_t regions_version() const { return version_.load(std::memory_order_acquire); }

	// Hands the connection of `generation` a queue's new shadow memory in
	// place of its old one (same guest address), and keeps it for the next
	// connections; false if that connection is gone or refused it.
	bool replace_shadow(uint64_t generation, const VhostUserRegion &shadow);
	// Where queue `index` sets its ring up on the connection of
	// `generation`: its slice of the connection's RingPool (a target
	// without memory slots), or its own memory (pool null); nullopt if that
	// connection is gone.
	std::optional<RingSlice> ring_slice(uint64_t generation, uint32_t index);
	// Sets up a vring on the connection of `generation`; false if that
	// connection is gone (a new one will come and wake the queue).
	bool start_vring(uint64_t generation, const VhostUserVring &vring);
	// The IOTLB entry holding address of our mapping, its file region
	// handed to the target if new (joined with the entries around it);
	// nullopt if it is not IOTLB memory (a bug) or cannot be shared.
	std::optional<GuestRange> guest_range(const void *address);
	void invalidate(uint64_t first, uint64_t last);
	// A queue's kick or message failed: drop the connection (the thread
	// reconnects).
	void lost(uint64_t generation);
	// Whether a target the requests were sent to may still read or write
	// the driver's memory: the connection is up, or a process that served
	// an earlier one has not exited (a target cannot be made to give a
	// request back; once its process is gone, so are its mappings).
	bool targets_may_write();
	// A reset waited as long as it can for them: targets whose process is
	// not known (another PID namespace) are not waited for again.
	void forget_unknown_targets();

private:
	struct Region {
		VhostUserRegion region;
		UniqueFd file; // kept: REM_MEM_REG sends it again
		bool shadow = false;
	};
	struct Queue {
		uint32_t index;
		int call_fd;
	};
	void run();
	// A new RingPool for a connection to a target without memory slots.
	Result<std::shared_ptr<const RingPool>> make_ring_pool() const;
	// Whether this connection's table is the RingPool and the bounce memory.
	bool pooled_locked() const { return pool_ != nullptr; }
	// Takes a new connection and hands everything over; under mutex_.
	Status connect_locked(VhostUserClient client);
	// A queue's own memory as kept here (the fd duplicated: the queue may
	// replace its memory).
	static Region shadow_copy(const VhostUserRegion &shadow);
	void wake_queues_locked();
	// Hands the target the region just appended to regions_: ADD_MEM_REG,
	// or without CONFIGURE_MEM_SLOTS the whole table again (direct rings;
	// the bridge's table does not hold a queue's own memory); false if it
	// refused.
	bool region_added_locked();
	// A target without memory slots: SET_MEM_TABLE with table_locked(),
	// unless the bridge started a vring on this connection (a target may
	// unmap the old table under requests it is serving: libvhost-user
	// does): then the connection is dropped and the next one gets it.
	bool send_table_locked(const std::string &why);
	// What a target without memory slots is given: direct rings, the
	// driver's region; the bridge, the RingPool and the bounce memory.
	std::vector<VhostUserRegion> table_locked() const;
	// Wakes the control thread's TargetSizeFollower (target_changed_fd).
	void tell_target_changed();
	// The thread's: reads the back-end channel; closes it if it broke.
	void serve_channel();
	// The thread's: closes the connection.
	void drop_locked(const std::string &why);
	// Anyone's: shuts the connection down for the thread to close.
	void fail_locked(const std::string &why);

	DeviceSpec spec_;
	LinkReporter &reporter_;
	Iotlb *iotlb_ = nullptr;
	const BounceMemory *bounce_ = nullptr;
	UniqueFd stop_fd_;
	UniqueFd target_changed_;
	std::thread thread_;
	std::mutex mutex_; // everything below, and every message to the target
	std::optional<VhostUserClient> client_;
	// The connection's back-end channel, if it has one: the thread's
	// alone (set and reset only there), so it is served without mutex_.
	std::optional<VhostUserBackendChannel> channel_;
	std::vector<Region> regions_;
	std::vector<Queue> queues_;
	size_t ring_bytes_;
	// The connection's, if its target has no memory slots (the bridge):
	// queues move to it as they set their rings up (ring_slice).
	std::shared_ptr<const RingPool> pool_;
	std::atomic<uint64_t> generation_{0};
	std::atomic<bool> connected_{false};
	std::atomic<uint64_t> version_{0};
	std::string last_failure_;          // the last reason a connection failed, logged once
	uint32_t max_slots_ = 0;            // the target's memory slots (0: not said)
	bool slots_full_said_ = false;      // logged once
	uint64_t driver_regions_added_ = 0; // by add_driver_region, ever
	bool outside_bounce_said_ = false;  // logged once
	unsigned vrings_started_ = 0;       // by the bridge on this connection
	// Pidfds of the processes that served the connections (unix_peer_pidfd):
	// the current one's, and those of earlier ones not known to have exited;
	// an empty one where the process is not known.
	std::mutex targets_mutex_;
	UniqueFd current_target_;
	std::vector<UniqueFd> past_targets_;
};

} // namespace vduse
