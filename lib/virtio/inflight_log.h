// The per-queue in-flight log that outlives vdused: a file in the state
// directory (/run/vduse/NAME.inflight, tmpfs) mapped MAP_SHARED, so every
// store a killed process made is still there for its successor.
//
// The kernel keeps no record of which requests a VDUSE daemon had taken
// (drivers/vdpa/vdpa_user/vduse_dev.c only keeps the rings), so, as QEMU's
// libvduse does, the daemon logs them itself:
//   taken(head)             before a chain is used: inflight[head] = 1
//   completing(head)        before the used index is published
//   completed(head, idx)    after it: inflight[head] = 0, used_idx = idx
// A successor reads the ring's used index and recover() works out, for a
// death at any point between those stores, which heads are still owed a
// completion (resubmitted, in the order they were taken) and the next avail
// index (used index + heads in flight): no completion is lost or doubled.
//
// Crash recovery in one place: this file (the log and its format), the
// SplitQueue reports to a QueueLog through RingObserver (ring_observer.h),
// and inflight_takeover.h decides how a queue starts from the log.
#pragma once

#include "base/mapping.h"
#include "base/result.h"
#include "virtio/ring_observer.h"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <vector>

namespace vduse
{

namespace inflight
{
struct Desc {
	std::atomic<uint64_t> taken_at; // order in which heads were taken
	std::atomic<uint8_t> in_flight;
	uint8_t pad[7];
};
struct QueueHeader {
	std::atomic<uint64_t> counter;
	std::atomic<uint16_t> used_idx;     // the used index as of the last completion
	std::atomic<uint16_t> pending_head; // the head being completed
	std::atomic<uint8_t> pending;       // a completion is between its stores
	uint8_t pad[51];
};
static_assert(sizeof(Desc) == 16 && sizeof(QueueHeader) == 64);
} // namespace inflight

struct QueueRecovery {
	uint16_t last_avail = 0;     // the next avail index to take
	std::vector<uint16_t> heads; // owed a completion, oldest first
	bool fixed_pending = false;  // a completion was published but not logged
};

// One queue's part of the log. Copyable view; the InflightLog owns the memory.
class QueueLog final : public RingObserver
{
public:
	QueueLog() = default;
	QueueLog(inflight::QueueHeader *header, inflight::Desc *descs, uint16_t size)
	        : header_(header), descs_(descs), size_(size)
	{
	}
	explicit operator bool() const { return header_ != nullptr; }

	void taken(uint16_t head) override;
	void completing(uint16_t head) override;
	void completed(uint16_t head, uint16_t used_idx) override;
	// A fresh start: nothing in flight, the ring's used index as given.
	void reset(uint16_t used_idx);
	// After a death: what is owed, given the used index in the ring now.
	// Fails if the log cannot describe this ring (corrupt or not ours).
	Result<QueueRecovery> recover(uint16_t ring_used_idx, uint16_t ring_size);

private:
	inflight::QueueHeader *header_ = nullptr;
	inflight::Desc *descs_ = nullptr;
	uint16_t size_ = 0;
};

class InflightLog
{
public:
	// Opens PATH, or creates it, for QUEUES queues of DEPTH descriptors. An
	// existing file made for another geometry, or not a log, is an error
	// (never silently reused).
	static Result<InflightLog> open(const std::filesystem::path &path, uint32_t queues,
	                                uint32_t depth);
	// Over caller-provided memory of bytes_needed() bytes (unit tests).
	static InflightLog in_memory(void *memory, uint32_t queues, uint32_t depth);
	static size_t bytes_needed(uint32_t queues, uint32_t depth);

	QueueLog queue(uint32_t index) const;
	// The virtio device status as last answered to the driver
	// (VIRTIO_CONFIG_S_*): DRIVER_OK tells a successor to take over.
	uint8_t device_status() const;
	void set_device_status(uint8_t status);

private:
	InflightLog(Mapping mapping, void *base, uint32_t queues, uint32_t depth)
	        : mapping_(std::move(mapping)), base_(static_cast<char *>(base)), queues_(queues),
	          depth_(depth)
	{
	}
	Mapping mapping_;
	char *base_ = nullptr;
	uint32_t queues_ = 0;
	uint32_t depth_ = 0;
};

} // namespace vduse
