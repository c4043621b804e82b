// One queue of the vhost-user bridge (vhost_user_backend.h): the split ring
// vdused drives and the target serves, one descriptor per request, each
// pointing to an indirect table in vdused's memory: header, the driver's
// data buffers (by IOVA), status. The ring's descriptor id is the VDUSE
// head, so a completion finds its request without a lookup.
#pragma once

#include "backend.h"
#include "base/mapping.h"
#include "base/unique_fd.h"
#include "vhost_user_link.h"
#include "virtio/blk_config.h"
#include "virtio/vring.h"

#include <memory>
#include <spdlog/logger.h>
#include <utility>
#include <vector>

namespace vduse
{

class VhostUserQueue final : public QueueBackend
{
public:
	static Result<std::unique_ptr<QueueBackend>>
	open(VhostUserLink &link, const DeviceSpec &spec, uint32_t index, uint32_t depth);

	std::optional<uint8_t> submit(const BlkRequest &request, uint16_t tag) override;
	void flush() override;
	int completion_fd() const override { return call_.get(); }
	void reap(std::vector<Completion> &out, bool wait) override;
	// While the worker polls the used ring, the target is asked not to
	// signal the call eventfd (VRING_AVAIL_F_NO_INTERRUPT; EVENT_IDX is
	// not negotiated): no eventfd write per completion on its side, no
	// read on ours.
	void quiet_completions() override;
	bool arm_completions() override;
	// Sets up the ring on a connection that came meanwhile, before any
	// request needs it: DPDK's vhost library (SPDK's) serves no ring until
	// every ring up to the highest it was told of is set up.
	void prepare() override;
	unsigned in_flight() const override
	{
		return in_flight_ + static_cast<unsigned>(failed_.size());
	}
	// Requests never sent are failed at once; requests a target has are
	// waited for while a target that may still write into their buffers
	// lives, up to reset_wait, then the connection is torn down.
	void abandon() override { let_go("the reset"); }
	// The same for an IOTLB change (the worker answers them).
	void give_up() override { let_go("the IOTLB change"); }

	struct Layout {
		uint32_t depth = 0;
		size_t avail = 0; // offsets in the shadow memory
		size_t used = 0;
		size_t slots = 0;
		size_t slot_stride = 0;
		size_t ranges = 0;   // in a slot: the discard / write zeroes ranges
		size_t indirect = 0; // in a slot: the indirect table
		uint32_t max_ranges = 0;
		uint32_t max_descriptors = 0; // per indirect table
		size_t total = 0;
	};
	static Layout layout(uint32_t depth, const BlkGeometry &geometry);

	VhostUserQueue(VhostUserLink &link, uint32_t index, const Layout &layout, UniqueFd memory,
	               Mapping mapping, UniqueFd kick, UniqueFd call);

private:
	// abandon() and give_up(), for what (logged).
	void let_go(const char *what);
	enum class SlotState : uint8_t { idle, held, sent };
	struct Slot {
		const BlkRequest *request = nullptr;
		SlotState state = SlotState::idle;
	};

	// Builds the request's descriptors and makes it available; the
	// virtio-blk status if it cannot be forwarded.
	std::optional<uint8_t> post(uint16_t tag);
	// Sets the ring up on the link's new connection and posts again what
	// was sent to the old one or held.
	void restart(std::vector<Completion> &out);
	void harvest(std::vector<Completion> &out);
	// The request in slot tag is done (status), off in_flight_, into out.
	void finish(uint16_t tag, uint8_t status, std::vector<Completion> &out);
	static Result<std::pair<UniqueFd, Mapping>> shadow_memory(uint32_t index, size_t size);
	// The queue's own memory, as a target with memory slots is given it.
	VhostUserRegion shadow_region() const;
	// Swaps in new memory of its own, handed to the connection of
	// generation.
	bool renew_shadow(uint64_t generation);
	// The ring goes into the connection's memory (a RingPool slice or
	// its own); false if that connection is gone or refused new memory.
	bool move_ring(uint64_t generation);
	// The IOTLB entry holding address, as the target knows it.
	std::optional<GuestRange> guest_range(const void *address);
	uint8_t *at(size_t offset) { return base_ + offset; }
	// The target's used index (acquire) and our avail flags (release).
	uint16_t used_index();
	void set_avail_flags(uint16_t flags);
	uint64_t guest_of(size_t offset) const { return guest_base_ + offset; }

	VhostUserLink &link_;
	uint32_t index_;
	Layout layout_;
	UniqueFd memory_; // its own, for a target with memory slots
	Mapping mapping_;
	UniqueFd kick_;
	UniqueFd call_;
	uint64_t own_guest_base_;
	// Where the ring is: its own memory, or a slice of pool_.
	std::shared_ptr<const RingPool> pool_;
	uint8_t *base_;
	uint64_t guest_base_;
	std::shared_ptr<spdlog::logger> log_;
	std::vector<Slot> slots_;
	std::vector<GuestRange> ranges_; // cached from the link
	uint64_t ranges_version_ = 0;
	uint64_t generation_ = 0; // of the connection the ring is set up on
	// A connection a reset gave up on while its target held requests: not
	// used again, and the next one with memory slots gets new memory of
	// the queue's own (one without gets a new RingPool anyway).
	uint64_t torn_down_ = 0;
	uint16_t avail_idx_ = 0;
	uint16_t last_used_ = 0;
	bool pending_kick_ = false;
	bool quiet_ = false;     // the target was asked not to signal completions
	unsigned in_flight_ = 0; // held or sent
	// Finished but not yet reaped (failed when posted again, or given up
	// at a reset); in_flight() counts them, so a stopping worker reaps
	// them and a later driver session never sees them.
	std::vector<Completion> failed_;
	uint64_t bad_used_ = 0;
};

} // namespace vduse
