// The in-flight log against hand-built rings: what a successor recovers after
// a death at each point of taking and completing requests.
#include "fake_ring.h"
#include "virtio/inflight_log.h"
#include "virtio/inflight_takeover.h"

#include <gtest/gtest.h>
#include <vector>

using namespace vduse;
using namespace vduse::testing;

namespace
{

struct LoggedRing {
	std::vector<uint8_t> memory = std::vector<uint8_t>(InflightLog::bytes_needed(1, 8));
	InflightLog log = InflightLog::in_memory(memory.data(), 1, 8);
	QueueLog queue_log = log.queue(0);
	FakeRing ring;
	LoggedRing()
	{
		for (uint16_t i = 0; i < 8; ++i)
			ring.set_desc(i, 0x10000 + 0x1000u * i, 512, vring::desc_f_write);
		auto takeover = take_over_queue(ring.queue, queue_log, StartMode::fresh);
		EXPECT_TRUE(takeover.ok());
	}
	// A new queue on the same rings, as a successor process attaches it: at
	// the kernel's avail index (0: it never learnt ours).
	static bool attach_successor(FakeRing &ring, SplitQueue &successor)
	{
		return successor.attach(
		        ring.memory, {FakeRing::desc_at, FakeRing::avail_at, FakeRing::used_at, 8},
		        false, 0);
	}
	uint16_t take()
	{
		DescriptorChain chain;
		EXPECT_EQ(ring.queue.pop(chain), PopResult::chain);
		return chain.head;
	}
};

} // namespace

TEST(InflightLog, NothingTakenNothingOwed)
{
	LoggedRing r;
	auto rec = r.log.queue(0).recover(r.ring.used_idx(), 8);
	ASSERT_TRUE(rec.ok());
	EXPECT_EQ(rec->last_avail, 0);
	EXPECT_TRUE(rec->heads.empty());
}

TEST(InflightLog, TakenNotCompletedIsOwedInOrder)
{
	LoggedRing r;
	for (int h : {5, 2, 7})
		r.ring.make_available(static_cast<uint16_t>(h));
	EXPECT_EQ(r.take(), 5);
	EXPECT_EQ(r.take(), 2);
	EXPECT_EQ(r.take(), 7);
	r.ring.queue.push(2, 512); // completed: not owed
	auto rec = r.log.queue(0).recover(r.ring.used_idx(), 8);
	ASSERT_TRUE(rec.ok());
	EXPECT_EQ(rec->heads, (std::vector<uint16_t>{5, 7}));
	// One completed plus two owed: the next avail entry is the fourth.
	EXPECT_EQ(rec->last_avail, 3);
	EXPECT_FALSE(rec->fixed_pending);
}

TEST(InflightLog, DeathAfterPublishingIsNotCompletedTwice)
{
	LoggedRing r;
	r.ring.make_available(4);
	EXPECT_EQ(r.take(), 4);
	// Die between publishing the used index and logging it.
	QueueLog q = r.log.queue(0);
	q.completing(4);
	r.ring.memory.at<uint16_t>(FakeRing::used_at)[1] = 1; // the used index the driver sees
	auto rec = q.recover(r.ring.used_idx(), 8);
	ASSERT_TRUE(rec.ok());
	EXPECT_TRUE(rec->heads.empty());
	EXPECT_TRUE(rec->fixed_pending);
	EXPECT_EQ(rec->last_avail, 1);
}

TEST(InflightLog, DeathBeforePublishingResubmits)
{
	LoggedRing r;
	r.ring.make_available(3);
	EXPECT_EQ(r.take(), 3);
	r.log.queue(0).completing(3); // the used index was not published
	auto rec = r.log.queue(0).recover(r.ring.used_idx(), 8);
	ASSERT_TRUE(rec.ok());
	EXPECT_EQ(rec->heads, (std::vector<uint16_t>{3}));
	EXPECT_EQ(rec->last_avail, 1);
}

TEST(InflightLog, RefusesALogThatDoesNotMatchTheRing)
{
	LoggedRing r;
	r.ring.memory.at<uint16_t>(FakeRing::used_at)[1] = 5; // the log says 0
	auto rec = r.log.queue(0).recover(r.ring.used_idx(), 8);
	ASSERT_FALSE(rec.ok());
	EXPECT_NE(rec.error().message.find("used index"), std::string::npos);
	// A ring larger than the log was made for.
	EXPECT_FALSE(r.log.queue(0).recover(0, 16).ok());
}

TEST(InflightLog, ResetForgetsEverything)
{
	LoggedRing r;
	r.ring.make_available(1);
	r.take();
	r.log.queue(0).reset(0);
	auto rec = r.log.queue(0).recover(0, 8);
	ASSERT_TRUE(rec.ok());
	EXPECT_TRUE(rec->heads.empty());
}

TEST(InflightLog, FileOfAnotherGeometryIsRefused)
{
	char path[] = "/tmp/vduse-inflight-XXXXXX";
	int fd = mkstemp(path);
	ASSERT_GE(fd, 0);
	close(fd);
	std::filesystem::remove(path);
	{
		auto log = InflightLog::open(path, 2, 64);
		ASSERT_TRUE(log.ok()) << log.error().message;
		log->set_device_status(0xf);
	}
	auto again = InflightLog::open(path, 2, 64);
	ASSERT_TRUE(again.ok());
	EXPECT_EQ(again->device_status(), 0xf); // survives the process that wrote it
	auto other = InflightLog::open(path, 4, 64);
	ASSERT_FALSE(other.ok());
	EXPECT_NE(other.error().message.find("corrupt"), std::string::npos);
	std::filesystem::remove(path);
}

TEST(InflightTakeover, SuccessorResubmitsWhatTheDeadOneOwedAndGoesOn)
{
	LoggedRing r;
	for (int h : {5, 2, 7, 1})
		r.ring.make_available(static_cast<uint16_t>(h));
	EXPECT_EQ(r.take(), 5);
	EXPECT_EQ(r.take(), 2);
	EXPECT_EQ(r.take(), 7);
	r.ring.queue.push(2, 512);
	// The process dies; a new one attaches a new queue to the same rings.
	SplitQueue successor;
	ASSERT_TRUE(LoggedRing::attach_successor(r.ring, successor));
	QueueLog log = r.log.queue(0);
	auto takeover = take_over_queue(successor, log, StartMode::recover);
	ASSERT_TRUE(takeover.ok()) << takeover.error().message;
	EXPECT_EQ(takeover->resubmit, (std::vector<uint16_t>{5, 7}));
	EXPECT_EQ(takeover->last_avail, 3);
	EXPECT_EQ(successor.last_avail(), 3);
	DescriptorChain chain;
	ASSERT_EQ(successor.pop(chain), PopResult::chain);
	EXPECT_EQ(chain.head, 1); // the first request nobody had taken
	for (uint16_t head : {uint16_t{5}, uint16_t{7}, uint16_t{1}})
		successor.push(head, 512);
	auto after = log.recover(r.ring.used_idx(), 8);
	ASSERT_TRUE(after.ok());
	EXPECT_TRUE(after->heads.empty()); // the successor logs too
}

TEST(InflightTakeover, FreshStartForgetsTheLogAndResumeKeepsIt)
{
	LoggedRing r;
	r.ring.make_available(3);
	EXPECT_EQ(r.take(), 3);
	QueueLog log = r.log.queue(0);
	auto resumed = take_over_queue(r.ring.queue, log, StartMode::resume);
	ASSERT_TRUE(resumed.ok());
	EXPECT_TRUE(resumed->resubmit.empty());
	EXPECT_EQ(log.recover(r.ring.used_idx(), 8)->heads, (std::vector<uint16_t>{3}));
	auto fresh = take_over_queue(r.ring.queue, log, StartMode::fresh);
	ASSERT_TRUE(fresh.ok());
	EXPECT_TRUE(log.recover(r.ring.used_idx(), 8)->heads.empty());
}

TEST(InflightTakeover, ACorruptLogIsAnErrorNotAGuess)
{
	LoggedRing r;
	r.ring.make_available(3);
	EXPECT_EQ(r.take(), 3);
	r.ring.queue.push(3, 512);
	r.ring.memory.at<uint16_t>(FakeRing::used_at)[1] = 5; // the ring moved without the log
	SplitQueue successor;
	ASSERT_TRUE(LoggedRing::attach_successor(r.ring, successor));
	QueueLog log = r.log.queue(0);
	auto takeover = take_over_queue(successor, log, StartMode::recover);
	ASSERT_FALSE(takeover.ok());
	EXPECT_NE(takeover.error().message.find("in-flight log is corrupt"), std::string::npos)
	        << takeover.error().message;
	EXPECT_FALSE(takeover.error().is_usage());
}
