#include "fake_ring.h"

#include <gtest/gtest.h>

using namespace vduse;
using namespace vduse::testing;
using vring::desc_f_indirect;
using vring::desc_f_next;
using vring::desc_f_write;

TEST(SplitQueue, EmptyRingGivesNothing)
{
	FakeRing ring;
	ASSERT_TRUE(ring.attached);
	DescriptorChain chain;
	EXPECT_EQ(ring.queue.pop(chain), PopResult::empty);
}

TEST(SplitQueue, RefusesUnmappedRingsAndBadSizes)
{
	FlatMemory memory(0x5000);
	SplitQueue q;
	EXPECT_FALSE(q.attach(memory, {0x1000, 0x3000, 0x4000, 6}, false, 0)); // not a power of two
	EXPECT_FALSE(
	        q.attach(memory, {0x1000, 0x3000, 0x4ff0, 8}, false, 0)); // used ring past the end
	EXPECT_FALSE(
	        q.attach(memory, {0xffffffff0000, 0x3000, 0x4000, 8}, false, 0)); // desc unmapped
}

TEST(SplitQueue, WalksAChainInOrder)
{
	FakeRing ring;
	ring.set_desc(0, 0x10000, 16, desc_f_next, 1);
	ring.set_desc(1, 0x11000, 4096, desc_f_next | desc_f_write, 2);
	ring.set_desc(2, 0x12000, 1, desc_f_write);
	ring.make_available(0);
	DescriptorChain chain;
	ASSERT_EQ(ring.queue.pop(chain), PopResult::chain);
	EXPECT_EQ(chain.error, ChainError::none);
	EXPECT_EQ(chain.head, 0);
	ASSERT_EQ(chain.readable.size(), 1u);
	ASSERT_EQ(chain.writable.size(), 2u);
	EXPECT_EQ(chain.readable[0].iov_base, ring.memory.bytes.data() + 0x10000);
	EXPECT_EQ(chain.writable[0].iov_len, 4096u);
	EXPECT_EQ(ring.queue.pop(chain), PopResult::empty);
}

TEST(SplitQueue, PushFillsTheUsedRing)
{
	FakeRing ring;
	ring.set_desc(3, 0x10000, 16, 0);
	ring.make_available(3);
	DescriptorChain chain;
	ASSERT_EQ(ring.queue.pop(chain), PopResult::chain);
	ring.queue.push(chain.head, 77);
	EXPECT_EQ(ring.used_idx(), 1);
	EXPECT_EQ(ring.used_elem(0).id, 3u);
	EXPECT_EQ(ring.used_elem(0).len, 77u);
}

TEST(SplitQueue, FollowsIndirectTables)
{
	FakeRing ring;
	// The indirect table lives at 0x20000: header, data, status.
	auto *table = ring.memory.at<vring::Desc>(0x20000);
	table[0] = {0x10000, 16, desc_f_next, 1};
	table[1] = {0x11000, 512, desc_f_next | desc_f_write, 2};
	table[2] = {0x12000, 1, desc_f_write, 0};
	ring.set_desc(0, 0x20000, 3 * 16, desc_f_indirect);
	ring.make_available(0);
	DescriptorChain chain;
	ASSERT_EQ(ring.queue.pop(chain), PopResult::chain);
	EXPECT_EQ(chain.error, ChainError::none);
	EXPECT_EQ(chain.readable.size(), 1u);
	EXPECT_EQ(chain.writable.size(), 2u);
}

TEST(SplitQueueHostile, LoopIsCaught)
{
	FakeRing ring;
	ring.set_desc(0, 0x10000, 16, desc_f_next, 1);
	ring.set_desc(1, 0x11000, 16, desc_f_next, 0);
	ring.make_available(0);
	DescriptorChain chain;
	ASSERT_EQ(ring.queue.pop(chain), PopResult::chain);
	EXPECT_EQ(chain.error, ChainError::loop);
}

TEST(SplitQueueHostile, LoopInsideIndirectTableIsCaught)
{
	FakeRing ring;
	auto *table = ring.memory.at<vring::Desc>(0x20000);
	table[0] = {0x10000, 16, desc_f_next, 1};
	table[1] = {0x11000, 16, desc_f_next, 0};
	ring.set_desc(0, 0x20000, 2 * 16, desc_f_indirect);
	ring.make_available(0);
	DescriptorChain chain;
	ASSERT_EQ(ring.queue.pop(chain), PopResult::chain);
	EXPECT_EQ(chain.error, ChainError::loop);
}

TEST(SplitQueueHostile, NextOutOfRange)
{
	FakeRing ring;
	ring.set_desc(0, 0x10000, 16, desc_f_next, 200);
	ring.make_available(0);
	DescriptorChain chain;
	ASSERT_EQ(ring.queue.pop(chain), PopResult::chain);
	EXPECT_EQ(chain.error, ChainError::bad_next);
}

TEST(SplitQueueHostile, HeadOutOfRangeBreaksTheQueue)
{
	FakeRing ring;
	ring.make_available(8);
	DescriptorChain chain;
	EXPECT_EQ(ring.queue.pop(chain), PopResult::broken);
}

TEST(SplitQueueHostile, AvailIndexTooFarAheadBreaksTheQueue)
{
	FakeRing ring;
	ring.set_avail_idx(9);
	DescriptorChain chain;
	EXPECT_EQ(ring.queue.pop(chain), PopResult::broken);
}

TEST(SplitQueueHostile, HugeLengthIsUnmapped)
{
	FakeRing ring;
	ring.set_desc(0, 0x10000, 0xffffffff, 0);
	ring.make_available(0);
	DescriptorChain chain;
	ASSERT_EQ(ring.queue.pop(chain), PopResult::chain);
	EXPECT_EQ(chain.error, ChainError::unmapped);
}

TEST(SplitQueueHostile, AddressWrapIsUnmapped)
{
	FakeRing ring;
	ring.set_desc(0, UINT64_MAX - 4, 16, 0);
	ring.make_available(0);
	DescriptorChain chain;
	ASSERT_EQ(ring.queue.pop(chain), PopResult::chain);
	EXPECT_EQ(chain.error, ChainError::unmapped);
}

TEST(SplitQueueHostile, ZeroLengthBufferAddsNothing)
{
	FakeRing ring;
	ring.set_desc(0, 0x10000, 0, desc_f_next, 1);
	ring.set_desc(1, 0x12000, 1, desc_f_write);
	ring.make_available(0);
	DescriptorChain chain;
	ASSERT_EQ(ring.queue.pop(chain), PopResult::chain);
	EXPECT_EQ(chain.error, ChainError::none);
	EXPECT_TRUE(chain.readable.empty());
	EXPECT_EQ(chain.writable.size(), 1u);
}

TEST(SplitQueueHostile, ReadableAfterWritableIsRefused)
{
	FakeRing ring;
	ring.set_desc(0, 0x10000, 16, desc_f_next | desc_f_write, 1);
	ring.set_desc(1, 0x11000, 16, 0);
	ring.make_available(0);
	DescriptorChain chain;
	ASSERT_EQ(ring.queue.pop(chain), PopResult::chain);
	EXPECT_EQ(chain.error, ChainError::write_then_read);
}

TEST(SplitQueueHostile, BadIndirectTables)
{
	struct Case {
		uint32_t len;
		uint16_t flags;
	};
	for (Case c : {Case{0, desc_f_indirect}, Case{24, desc_f_indirect},
	               Case{32, static_cast<uint16_t>(desc_f_indirect | desc_f_next)}}) {
		FakeRing ring;
		ring.set_desc(0, 0x20000, c.len, c.flags, 1);
		ring.make_available(0);
		DescriptorChain chain;
		ASSERT_EQ(ring.queue.pop(chain), PopResult::chain);
		EXPECT_EQ(chain.error, ChainError::bad_indirect) << c.len;
	}
}

TEST(SplitQueueHostile, NestedIndirectIsRefused)
{
	FakeRing ring;
	auto *table = ring.memory.at<vring::Desc>(0x20000);
	table[0] = {0x20000, 16, desc_f_indirect, 0};
	ring.set_desc(0, 0x20000, 16, desc_f_indirect);
	ring.make_available(0);
	DescriptorChain chain;
	ASSERT_EQ(ring.queue.pop(chain), PopResult::chain);
	EXPECT_EQ(chain.error, ChainError::bad_indirect);
}

TEST(SplitQueueHostile, IndirectTableOutsideMemory)
{
	FakeRing ring;
	ring.set_desc(0, (1 << 20) - 16, 64, desc_f_indirect);
	ring.make_available(0);
	DescriptorChain chain;
	ASSERT_EQ(ring.queue.pop(chain), PopResult::chain);
	EXPECT_EQ(chain.error, ChainError::unmapped);
}

TEST(SplitQueueNotify, WithoutEventIdxHonoursNoInterrupt)
{
	FakeRing ring;
	ring.set_desc(0, 0x10000, 16, 0);
	ring.make_available(0);
	DescriptorChain chain;
	ASSERT_EQ(ring.queue.pop(chain), PopResult::chain);
	EXPECT_FALSE(ring.queue.need_interrupt()) << "nothing pushed yet";
	ring.queue.push(0, 1);
	ring.memory.at<uint16_t>(FakeRing::avail_at)[0] = vring::avail_f_no_interrupt;
	EXPECT_FALSE(ring.queue.need_interrupt());
	ring.make_available(0);
	ASSERT_EQ(ring.queue.pop(chain), PopResult::chain);
	ring.queue.push(0, 1);
	ring.memory.at<uint16_t>(FakeRing::avail_at)[0] = 0;
	EXPECT_TRUE(ring.queue.need_interrupt());
}

TEST(SplitQueueNotify, EventIdxInterruptsOnlyWhenUsedEventIsCrossed)
{
	FakeRing ring(8, true);
	DescriptorChain chain;
	ring.set_desc(0, 0x10000, 16, 0);
	auto complete_one = [&] {
		ring.make_available(0);
		ASSERT_EQ(ring.queue.pop(chain), PopResult::chain);
		ring.queue.push(0, 1);
	};
	complete_one();
	EXPECT_TRUE(ring.queue.need_interrupt()); // first interrupt is always sent
	ring.set_used_event(5);                   // driver: interrupt me after used idx passes 5
	complete_one();                           // used idx 2
	EXPECT_FALSE(ring.queue.need_interrupt());
	for (int i = 0; i < 4; ++i)
		complete_one(); // used idx 6
	EXPECT_TRUE(ring.queue.need_interrupt());
}

TEST(SplitQueueNotify, EnableKicksReportsBuffersThatRaced)
{
	FakeRing ring(8, true);
	EXPECT_FALSE(ring.queue.enable_kicks());
	ring.set_desc(0, 0x10000, 16, 0);
	ring.make_available(0);
	EXPECT_TRUE(ring.queue.enable_kicks());
	// avail_event tells the driver which index to kick at.
	EXPECT_EQ(ring.memory.at<uint16_t>(FakeRing::used_at + 4 + 8 * 8)[0], 0);
}

TEST(Vring, NeedEventAsTheSpecSays)
{
	// The other side asked to hear when entry 5 is used (event 5): moving
	// from 5 to 6 passes it, 3 to 5 does not, 6 to 9 is past it already.
	EXPECT_TRUE(vring::need_event(5, 6, 5));
	EXPECT_TRUE(vring::need_event(5, 9, 4));
	EXPECT_FALSE(vring::need_event(5, 5, 3));
	EXPECT_FALSE(vring::need_event(5, 9, 6));
	// Across the 16-bit wrap.
	EXPECT_TRUE(vring::need_event(0xffff, 2, 0xfffe));
	EXPECT_FALSE(vring::need_event(0xffff, 2, 0));
	// An event half the index space ahead is not passed by a ring's worth
	// of completions.
	EXPECT_FALSE(vring::need_event(static_cast<uint16_t>(100 + 0x7fff), 100 + 1024, 100));
	// Nothing moved: nothing to tell.
	EXPECT_FALSE(vring::need_event(5, 5, 5));
}
