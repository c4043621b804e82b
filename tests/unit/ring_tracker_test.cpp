// virtio/ring_tracker.h against a simulated driver and device on one split
// ring: requests made available, taken and returned out of order, heads
// reused, a device that dies holding some, and windows longer than the ring.
#include "virtio/ring_tracker.h"
#include "virtio/vring.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <gtest/gtest.h>
#include <random>
#include <set>
#include <vector>

namespace vduse
{
namespace
{

constexpr uint16_t ring_size = 8;

// A driver and a device sharing the avail and used rings of ring_size
// entries, one descriptor per request.
class SimRing
{
public:
	SimRing() : avail_(vring::avail_bytes(ring_size)), used_(vring::used_bytes(ring_size))
	{
		for (uint16_t h = 0; h < ring_size; ++h)
			free_.push_back(h);
	}
	SplitRingView view() { return {avail_.data(), used_.data(), ring_size}; }

	// The driver makes a request available; false if no descriptor is free.
	bool submit()
	{
		if (free_.empty())
			return false;
		uint16_t head = free_.front();
		free_.pop_front();
		set16(avail_.data(), 4 + size_t{2} * (avail_idx_ % ring_size), head);
		set16(avail_.data(), 2, ++avail_idx_);
		outstanding_.insert(head);
		return true;
	}
	// The device takes what is available from its index on.
	void take()
	{
		while (taken_idx_ != avail_idx_) {
			held_.push_back(
			        get16(avail_.data(), 4 + size_t{2} * (taken_idx_ % ring_size)));
			++taken_idx_;
		}
	}
	// The device returns the held request at position i (out of order).
	void complete(size_t i)
	{
		uint16_t head = held_[i];
		held_.erase(held_.begin() + static_cast<long>(i));
		uint32_t id = head;
		std::memcpy(used_.data() + 4 + size_t{8} * (used_idx_ % ring_size), &id, 4);
		set16(used_.data(), 2, ++used_idx_);
	}
	// The driver reaps the used ring and frees the descriptors.
	void reap()
	{
		while (reaped_ != used_idx_) {
			uint32_t id = 0;
			std::memcpy(&id, used_.data() + 4 + size_t{8} * (reaped_ % ring_size), 4);
			EXPECT_EQ(outstanding_.erase(static_cast<uint16_t>(id)), 1u)
			        << "head " << id << " returned while not outstanding";
			free_.push_back(static_cast<uint16_t>(id));
			++reaped_;
		}
	}
	// A new device from base: what it would take.
	void restart_device(uint16_t base)
	{
		held_.clear();
		taken_idx_ = base;
	}
	size_t held() const { return held_.size(); }
	const std::set<uint16_t> &outstanding() const { return outstanding_; }
	uint16_t used_idx() const { return used_idx_; }
	uint16_t avail_idx() const { return avail_idx_; }

private:
	static void set16(uint8_t *p, size_t at, uint16_t v) { std::memcpy(p + at, &v, 2); }
	static uint16_t get16(const uint8_t *p, size_t at)
	{
		uint16_t v = 0;
		std::memcpy(&v, p + at, 2);
		return v;
	}
	std::vector<uint8_t> avail_;
	std::vector<uint8_t> used_;
	std::deque<uint16_t> free_;
	std::set<uint16_t> outstanding_;
	std::vector<uint16_t> held_;
	uint16_t avail_idx_ = 0;
	uint16_t taken_idx_ = 0;
	uint16_t used_idx_ = 0;
	uint16_t reaped_ = 0;
};

struct Tracked {
	std::vector<uint8_t> record = std::vector<uint8_t>(RingTracker::record_size(ring_size));
	RingTracker tracker{record.data(), ring_size};
	Tracked() { tracker.reset(0); }
};

TEST(RingTracker, DeadDeviceOutOfOrderRequestsAreMadeAvailableAgain)
{
	SimRing ring;
	Tracked t;
	std::mt19937 random(7);
	for (int step = 0; step < 2000; ++step) {
		while (random() % 3 != 0 && ring.submit()) {
		}
		ring.take();
		if (ring.held() > 0 && random() % 2 == 0)
			ring.complete(random() % ring.held());
		// The completion's interrupt: vdused scans, then the driver reaps.
		t.tracker.scan(ring.view());
		ring.reap();
	}
	// The device dies holding requests, and more were made available.
	while (ring.submit()) {
	}
	ASSERT_FALSE(ring.outstanding().empty());
	auto restart = t.tracker.make_available_again(ring.view());
	ASSERT_TRUE(restart.has_value());
	EXPECT_EQ(restart->base, ring.used_idx());
	EXPECT_EQ(restart->outstanding, ring.outstanding().size());
	// A new device from base takes exactly the outstanding heads, and
	// returning them all leaves the driver with nothing outstanding.
	ring.restart_device(restart->base);
	ring.take();
	EXPECT_EQ(ring.held(), ring.outstanding().size());
	while (ring.held() > 0)
		ring.complete(ring.held() - 1);
	ring.reap();
	EXPECT_TRUE(ring.outstanding().empty());
	t.tracker.scan(ring.view());
	EXPECT_TRUE(t.tracker.known());
}

TEST(RingTracker, MoreThanARingUnseenIsUnknownUntilIdle)
{
	SimRing ring;
	Tracked t;
	// Two rings' worth of requests go by between two scans.
	for (int i = 0; i < 2 * ring_size; ++i) {
		ASSERT_TRUE(ring.submit());
		ring.take();
		ring.complete(0);
		ring.reap();
	}
	ASSERT_TRUE(ring.submit());
	ring.take();
	t.tracker.scan(ring.view());
	EXPECT_FALSE(t.tracker.known());
	EXPECT_FALSE(t.tracker.make_available_again(ring.view()).has_value());
	// Nothing outstanding at a scan: known again.
	ring.complete(0);
	ring.reap();
	t.tracker.scan(ring.view());
	EXPECT_TRUE(t.tracker.known());
	ASSERT_TRUE(ring.submit());
	ring.take();
	t.tracker.scan(ring.view());
	auto restart = t.tracker.make_available_again(ring.view());
	ASSERT_TRUE(restart.has_value());
	EXPECT_EQ(restart->outstanding, 1);
}

TEST(RingTracker, HeadReturnedAndReusedWithinOneWindow)
{
	SimRing ring;
	Tracked t;
	ASSERT_TRUE(ring.submit());
	ring.take();
	t.tracker.scan(ring.view());
	// Head 0 returned and its descriptor made available again (the driver
	// frees it first in line) before the next scan.
	for (int i = 0; i < 3; ++i) {
		ring.complete(0);
		ring.reap();
		ASSERT_TRUE(ring.submit());
		ring.take();
	}
	t.tracker.scan(ring.view());
	EXPECT_TRUE(t.tracker.known());
	auto restart = t.tracker.make_available_again(ring.view());
	ASSERT_TRUE(restart.has_value());
	EXPECT_EQ(restart->outstanding, 1);
}

TEST(RingTracker, RecordFromAnotherProcessGoesOn)
{
	SimRing ring;
	std::vector<uint8_t> record(RingTracker::record_size(ring_size));
	{
		RingTracker first(record.data(), ring_size);
		first.reset(0);
		for (int i = 0; i < 5; ++i)
			ASSERT_TRUE(ring.submit());
		ring.take();
		ring.complete(2);
		first.scan(ring.view());
	}
	// A restarted vdused maps the same record.
	RingTracker second(record.data(), ring_size);
	EXPECT_TRUE(second.known());
	ring.complete(0);
	auto restart = second.make_available_again(ring.view());
	ASSERT_TRUE(restart.has_value());
	EXPECT_EQ(restart->outstanding, 3);
	EXPECT_EQ(restart->base, 2);
}

TEST(RingTracker, HeadOutOfRangeMakesItUnknown)
{
	SimRing ring;
	Tracked t;
	ASSERT_TRUE(ring.submit());
	// A corrupt entry (no kernel writes one; the record must not trust it).
	uint16_t bad = ring_size + 3;
	std::memcpy(ring.view().avail + 4, &bad, 2);
	t.tracker.scan(ring.view());
	EXPECT_FALSE(t.tracker.known());
}

// Records what scans report, head by head.
class EventLog final : public RingScanObserver
{
public:
	void made_available(uint16_t head) override { events.push_back({head, true}); }
	void returned(uint16_t head) override { events.push_back({head, false}); }
	struct Event {
		uint16_t head;
		bool made;
	};
	std::vector<Event> events;
};

TEST(RingTracker, ObserverHearsEachHeadsEventsInTheirOrder)
{
	SimRing ring;
	Tracked t;
	EventLog log;
	// Every descriptor in use: a freed one is the next one used.
	for (uint16_t i = 0; i < ring_size; ++i)
		ASSERT_TRUE(ring.submit());
	ring.take();
	t.tracker.scan(ring.view(), &log);
	ASSERT_EQ(log.events.size(), size_t{ring_size});
	EXPECT_TRUE(std::all_of(log.events.begin(), log.events.end(),
	                        [](const EventLog::Event &e) { return e.made; }));
	log.events.clear();
	// Head 0 returned, made available and returned again, then made
	// available again within one window: the return of the outstanding
	// request comes first.
	for (int i = 0; i < 2; ++i) {
		ring.complete(i == 0 ? 0 : ring.held() - 1);
		ring.reap();
		ASSERT_TRUE(ring.submit());
		ring.take();
	}
	t.tracker.scan(ring.view(), &log);
	ASSERT_EQ(log.events.size(), 4u);
	for (size_t i = 0; i < log.events.size(); ++i) {
		EXPECT_EQ(log.events[i].head, 0) << "event " << i;
		EXPECT_EQ(log.events[i].made, i % 2 == 1) << "event " << i;
	}
}

TEST(RingTracker, ObserverCountsMatchTheRingAcrossRandomRuns)
{
	std::mt19937 random(7);
	SimRing ring;
	Tracked t;
	EventLog log;
	std::vector<int> state(ring_size, 0); // per head: made - returned so far
	uint64_t made = 0;
	uint64_t returned = 0;
	for (int step = 0; step < 5000; ++step) {
		switch (random() % 4) {
		case 0:
			(void)ring.submit();
			break;
		case 1:
			ring.take();
			break;
		case 2:
			if (ring.held() > 0)
				ring.complete(random() % ring.held());
			break;
		default:
			ring.reap();
			t.tracker.scan(ring.view(), &log);
		}
		for (const auto &e : log.events) {
			int &s = state[e.head];
			s += e.made ? 1 : -1;
			ASSERT_TRUE(s == 0 || s == 1) << "head " << e.head << " at step " << step;
			(e.made ? made : returned) += 1;
		}
		log.events.clear();
	}
	ring.reap();
	t.tracker.scan(ring.view(), &log);
	for (const auto &e : log.events)
		(e.made ? made : returned) += 1;
	ASSERT_TRUE(t.tracker.known());
	EXPECT_EQ(made, ring.avail_idx());
	EXPECT_EQ(returned, ring.used_idx());
}

} // namespace
} // namespace vduse
