// Which requests of a split ring are outstanding, learnt from the rings
// alone, for a device that vdused does not drive: a vhost-user target
// serving the driver's rings directly (vdused/backends/vhost_user_direct.h).
// When that target dies, the requests it held are found here and made
// available again, in place of the ring entries [used index, avail index),
// for the next target to take from the used index on.
//
// Each scan reads the used index, then the avail index, then the entries
// since the last scan: a head is outstanding while it was made available
// once more than it was returned. A head's events alternate (the driver
// reuses a descriptor only once it is returned), so counts stay 0 or 1 as
// long as no entry was overwritten between two scans; one that may have
// been (more than the ring's size went by) makes the record unknown until a
// scan finds the ring idle (avail index = used index).
//
// The record lives in caller-given memory (a file of vdused's state
// directory), so that a restarted vdused goes on from it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace vduse
{

// The driver's split ring as this process maps it.
struct SplitRingView {
	uint8_t *avail = nullptr; // flags, idx, ring[size], used_event
	const uint8_t *used = nullptr;
	uint16_t size = 0;
};

// What a scan read, head by head, in each head's own order (a head's
// events alternate, starting with a return if it was outstanding): for
// counting requests (vdusectl stats) without serving them. Called only
// while the record is known.
class RingScanObserver
{
public:
	virtual ~RingScanObserver() = default;
	virtual void made_available(uint16_t head) = 0;
	virtual void returned(uint16_t head) = 0;

protected:
	RingScanObserver() = default;
	RingScanObserver(const RingScanObserver &) = default;
	RingScanObserver &operator=(const RingScanObserver &) = default;
};

class RingTracker
{
public:
	// Bytes of record for rings of up to capacity entries.
	static size_t record_size(uint16_t capacity);
	// record: record_size(capacity) bytes, zero for a new one.
	RingTracker(uint8_t *record, uint16_t capacity) : record_(record), capacity_(capacity) {}

	// A new driver session: nothing outstanding, indexes from avail_index.
	void reset(uint16_t avail_index);
	// Catches up with the ring, telling observer (if any) what it read.
	void scan(const SplitRingView &ring, RingScanObserver *observer = nullptr);
	bool known() const;
	// After a scan of a ring no device writes any more: the heads
	// outstanding, made available again in the ring's entries from the used
	// index on. nullopt if the record is unknown (nothing is rewritten then).
	struct Restart {
		uint16_t base = 0;        // where the next device starts: the used index
		uint16_t outstanding = 0; // the entries [base, base + outstanding) rewritten
	};
	std::optional<Restart> make_available_again(const SplitRingView &ring,
	                                            RingScanObserver *observer = nullptr);

private:
	struct Header {
		uint32_t known;
		uint16_t last_avail;
		uint16_t last_used;
	};
	Header &header() const { return *reinterpret_cast<Header *>(record_); }
	int8_t *counts() const { return reinterpret_cast<int8_t *>(record_ + sizeof(Header)); }
	void forget();

	uint8_t *record_;
	uint16_t capacity_;
	// A scan's events per head (zero between scans) and the heads it saw,
	// kept to spare allocations.
	std::vector<uint32_t> made_;
	std::vector<uint32_t> returned_;
	std::vector<uint16_t> touched_;
};

} // namespace vduse
