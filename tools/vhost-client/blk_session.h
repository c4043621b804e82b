// A virtio-blk driver over vhost-vdpa: negotiates, lays out the driver
// memory (rings, then per-request slots of header, data and status), maps
// it into the device's IOTLB, and builds requests in the descriptor layouts
// a driver may use.
#pragma once

#include "driver_ring.h"
#include "vhost_vdpa_device.h"

#include <cstdint>
#include <linux/virtio_blk.h>
#include <memory>
#include <random>
#include <vector>

namespace vduse::client
{

struct SessionOptions {
	uint32_t queues = 1;
	uint16_t depth = 16;             // requests in flight per queue (ring size: the device's)
	uint32_t max_io = 1u << 20;      // bytes of data per request
	uint64_t iotlb_chunk = 2u << 20; // IOTLB entries of this size (0: one entry)
	uint64_t iova_base = 0x40000000;
	bool indirect = true; // negotiate VIRTIO_RING_F_INDIRECT_DESC
};

// How a request's buffers are spread over descriptors.
enum class Layout {
	simple,    // header | data | status
	split,     // header | data in 2-4 pieces | status
	merged,    // header+data | status (writes) or header | data+status (reads)
	indirect,  // simple, in an indirect table
	unaligned, // simple, data at an odd address and of odd piece sizes
};
inline constexpr Layout all_layouts[] = {Layout::simple, Layout::split, Layout::merged,
                                         Layout::indirect, Layout::unaligned};
const char *layout_name(Layout layout);

// The memory of one request in flight.
struct Slot {
	uint8_t *header = nullptr;    // 16 bytes
	uint8_t *status = nullptr;    // 1 byte
	uint8_t *data = nullptr;      // max_io bytes, with a page of room on each side
	vring::Desc *table = nullptr; // room for an indirect table
	static constexpr uint32_t table_entries = 64;
	// Where the last submitted request's status byte is (poisoned with
	// stale_status before submission).
	uint8_t *answer = nullptr;
	uint16_t head = 0;
};
inline constexpr uint8_t stale_status = 0xa5;

struct BlkCommand {
	uint32_t type = VIRTIO_BLK_T_IN;
	uint64_t sector = 0;
	uint8_t *data = nullptr; // inside the slot's data area
	uint32_t len = 0;
};

class BlkSession
{
public:
	static Result<std::unique_ptr<BlkSession>> open(const std::string &path,
	                                                const SessionOptions &options);
	BlkSession(VhostVdpaDevice device, DriverMemory memory, const SessionOptions &options);

	// Negotiation, IOTLB, rings, DRIVER_OK. Again after a reset.
	Status start() { return start_with(RingOverride{}); }
	// What queue 0's ring is announced as, to test what the device takes.
	struct RingOverride {
		uint16_t size = 0;      // 0: its real size
		uint64_t desc_iova = 0; // 0: where it is
	};
	Status start_with(const RingOverride &ring0);
	Status restart();

	VhostVdpaDevice &device() { return device_; }
	DriverMemory &memory() { return memory_; }
	DriverRing &ring(uint32_t q) { return *rings_[q]; }
	Slot &slot(uint32_t q, uint16_t k) { return slots_[q * options_.depth + k]; }
	const SessionOptions &options() const { return options_; }
	const virtio_blk_config &config() const { return config_; }
	uint64_t capacity_bytes() const { return config_.capacity * 512; }
	uint32_t block_size() const;
	bool read_only() const;
	bool has_feature(unsigned bit) const { return device_.features() & (1ULL << bit); }
	// Driver memory beyond the slots, for tests that need more (4 MiB:
	// it holds a boundary between two 2 MiB IOTLB entries).
	uint8_t *spare() const { return spare_; }
	static constexpr size_t spare_bytes = 4u << 20;

	// Where cmd.data should point for a layout: the slot's data area, or an
	// odd address in it for Layout::unaligned.
	static uint8_t *data_for(const Slot &slot, Layout layout, std::mt19937_64 &rng);
	// Builds cmd in slot k of queue q with the given layout and makes it
	// available (no kick); returns the head, or nullopt if the ring is full.
	std::optional<uint16_t> submit(uint32_t q, uint16_t k, const BlkCommand &cmd, Layout layout,
	                               std::mt19937_64 &rng);

private:
	VhostVdpaDevice device_;
	DriverMemory memory_;
	SessionOptions options_;
	virtio_blk_config config_{};
	std::vector<std::unique_ptr<DriverRing>> rings_;
	std::vector<Slot> slots_;
	uint8_t *spare_ = nullptr;
};

} // namespace vduse::client
