#include "fake_ring.h"
#include "virtio/blk_request.h"

#include <gtest/gtest.h>

using namespace vduse;
using namespace vduse::testing;
using vring::desc_f_next;
using vring::desc_f_write;

namespace
{

constexpr uint64_t header_at = 0x10000, data_at = 0x11000, status_at = 0x30000;

class BlkRequestTest : public ::testing::Test
{
protected:
	BlkGeometry geometry{1 << 21, 512, false, "SERIAL-1"}; // 1 GiB

	// header -> data (writable for reads) -> status
	uint8_t decode(uint32_t type, uint64_t sector, uint32_t data_len, bool data_writable)
	{
		virtio_blk_outhdr header{type, 0, sector};
		std::memcpy(ring.memory.at<uint8_t>(header_at), &header, sizeof(header));
		ring.set_desc(0, header_at, sizeof(header), desc_f_next, 1);
		uint16_t data_flags = desc_f_next | (data_writable ? desc_f_write : 0);
		ring.set_desc(1, data_at, data_len, data_flags, 2);
		ring.set_desc(2, status_at, 1, desc_f_write);
		ring.make_available(0);
		EXPECT_EQ(ring.queue.pop(chain), PopResult::chain);
		return decode_blk_request(chain, geometry, request);
	}

	FakeRing ring{16};
	DescriptorChain chain;
	BlkRequest request;
};

} // namespace

TEST_F(BlkRequestTest, ReadIsDecoded)
{
	EXPECT_EQ(decode(VIRTIO_BLK_T_IN, 8, 4096, true), VIRTIO_BLK_S_OK);
	EXPECT_EQ(request.offset, 4096u);
	EXPECT_EQ(request.data_len, 4096u);
	EXPECT_EQ(request.status, ring.memory.at<uint8_t>(status_at));
	EXPECT_EQ(blk_used_length(request, VIRTIO_BLK_S_OK), 4097u);
	EXPECT_EQ(blk_used_length(request, VIRTIO_BLK_S_IOERR), 1u);
	EXPECT_EQ(blk_bytes_moved(request), 4096u);
}

TEST_F(BlkRequestTest, WriteIsDecoded)
{
	EXPECT_EQ(decode(VIRTIO_BLK_T_OUT, 0, 512, false), VIRTIO_BLK_S_OK);
	EXPECT_EQ(request.data_len, 512u);
	EXPECT_EQ(blk_used_length(request, VIRTIO_BLK_S_OK), 1u);
	EXPECT_EQ(blk_bytes_moved(request), 512u);
}

TEST_F(BlkRequestTest, HeaderAndDataInOneBufferAreSplit)
{
	virtio_blk_outhdr header{VIRTIO_BLK_T_OUT, 0, 0};
	std::memcpy(ring.memory.at<uint8_t>(header_at), &header, sizeof(header));
	ring.set_desc(0, header_at, sizeof(header) + 512, desc_f_next, 1);
	ring.set_desc(1, status_at, 1, desc_f_write);
	ring.make_available(0);
	ASSERT_EQ(ring.queue.pop(chain), PopResult::chain);
	EXPECT_EQ(decode_blk_request(chain, geometry, request), VIRTIO_BLK_S_OK);
	EXPECT_EQ(request.data_len, 512u);
	EXPECT_EQ(request.data[0].iov_base, ring.memory.at<uint8_t>(header_at + sizeof(header)));
}

TEST_F(BlkRequestTest, RangePastTheEndIsAnIoError)
{
	EXPECT_EQ(decode(VIRTIO_BLK_T_IN, (1 << 21) - 1, 1024, true), VIRTIO_BLK_S_IOERR);
}

TEST_F(BlkRequestTest, SectorOverflowIsAnIoError)
{
	EXPECT_EQ(decode(VIRTIO_BLK_T_IN, UINT64_MAX - 1, 4096, true), VIRTIO_BLK_S_IOERR);
}

TEST_F(BlkRequestTest, UnalignedToTheBlockSizeIsAnIoError)
{
	geometry.block_size = 4096;
	EXPECT_EQ(decode(VIRTIO_BLK_T_IN, 1, 4096, true), VIRTIO_BLK_S_IOERR);
}

TEST_F(BlkRequestTest, PartialSectorIsAnIoError)
{
	EXPECT_EQ(decode(VIRTIO_BLK_T_OUT, 0, 100, false), VIRTIO_BLK_S_IOERR);
}

TEST_F(BlkRequestTest, UnknownTypeIsUnsupported)
{
	EXPECT_EQ(decode(99, 0, 512, false), VIRTIO_BLK_S_UNSUPP);
	EXPECT_NE(request.status, nullptr);
}

TEST_F(BlkRequestTest, WriteToReadOnlyIsAnIoError)
{
	geometry.read_only = true;
	EXPECT_EQ(decode(VIRTIO_BLK_T_OUT, 0, 512, false), VIRTIO_BLK_S_IOERR);
}

TEST_F(BlkRequestTest, ShortHeaderIsAnIoError)
{
	ring.set_desc(0, header_at, 8, desc_f_next, 1);
	ring.set_desc(1, status_at, 1, desc_f_write);
	ring.make_available(0);
	ASSERT_EQ(ring.queue.pop(chain), PopResult::chain);
	EXPECT_EQ(decode_blk_request(chain, geometry, request), VIRTIO_BLK_S_IOERR);
}

TEST_F(BlkRequestTest, ChainWithoutWritableByteHasNoStatus)
{
	ring.set_desc(0, header_at, 16, 0);
	ring.make_available(0);
	ASSERT_EQ(ring.queue.pop(chain), PopResult::chain);
	EXPECT_EQ(decode_blk_request(chain, geometry, request), VIRTIO_BLK_S_IOERR);
	EXPECT_EQ(request.status, nullptr);
	EXPECT_EQ(blk_used_length(request, VIRTIO_BLK_S_IOERR), 0u);
}

TEST_F(BlkRequestTest, LoopingChainHasNoStatus)
{
	// A loop hides where the chain ends: no byte of it is the status.
	ring.set_desc(0, status_at, 1, desc_f_write | desc_f_next, 1);
	ring.set_desc(1, header_at, 16, desc_f_next, 0);
	ring.make_available(0);
	ASSERT_EQ(ring.queue.pop(chain), PopResult::chain);
	EXPECT_EQ(chain.error, ChainError::loop);
	decode_blk_request(chain, geometry, request);
	EXPECT_EQ(request.status, nullptr);
}

TEST_F(BlkRequestTest, UnmappedDataStillFindsTheRealStatusByte)
{
	virtio_blk_outhdr header{VIRTIO_BLK_T_IN, 0, 0};
	std::memcpy(ring.memory.at<uint8_t>(header_at), &header, sizeof(header));
	ring.set_desc(0, header_at, sizeof(header), desc_f_next, 1);
	ring.set_desc(1, data_at, 4096, desc_f_write | desc_f_next, 2);
	ring.set_desc(2, 1 << 21, 4096, desc_f_write | desc_f_next, 3); // unmapped
	ring.set_desc(3, status_at, 1, desc_f_write);
	ring.make_available(0);
	ASSERT_EQ(ring.queue.pop(chain), PopResult::chain);
	EXPECT_EQ(chain.error, ChainError::unmapped);
	EXPECT_EQ(decode_blk_request(chain, geometry, request), VIRTIO_BLK_S_IOERR);
	EXPECT_EQ(request.status, ring.memory.at<uint8_t>(status_at));
	EXPECT_EQ(blk_used_length(request, VIRTIO_BLK_S_IOERR), 1u);
}

TEST_F(BlkRequestTest, ReadableAfterWritableStillFindsTheRealStatusByte)
{
	ring.set_desc(0, data_at, 512, desc_f_write | desc_f_next, 1);
	ring.set_desc(1, header_at, 16, desc_f_next, 2);
	ring.set_desc(2, status_at, 1, desc_f_write);
	ring.make_available(0);
	ASSERT_EQ(ring.queue.pop(chain), PopResult::chain);
	EXPECT_EQ(chain.error, ChainError::write_then_read);
	EXPECT_EQ(decode_blk_request(chain, geometry, request), VIRTIO_BLK_S_IOERR);
	EXPECT_EQ(request.status, ring.memory.at<uint8_t>(status_at));
}

TEST_F(BlkRequestTest, ChainEndingReadableHasNoStatusEvenWithWritableData)
{
	// The old decoder took the last byte of the last writable buffer: a
	// data byte here.
	virtio_blk_outhdr header{VIRTIO_BLK_T_IN, 0, 0};
	std::memcpy(ring.memory.at<uint8_t>(header_at), &header, sizeof(header));
	ring.set_desc(0, header_at, sizeof(header), desc_f_next, 1);
	ring.set_desc(1, data_at, 4096, desc_f_write | desc_f_next, 2);
	ring.set_desc(2, header_at, 16, 0);
	ring.make_available(0);
	ASSERT_EQ(ring.queue.pop(chain), PopResult::chain);
	decode_blk_request(chain, geometry, request);
	EXPECT_EQ(request.status, nullptr);
}

TEST_F(BlkRequestTest, ZeroLengthStatusHasNoStatus)
{
	ring.set_desc(0, header_at, 16, desc_f_next, 1);
	ring.set_desc(1, status_at, 0, desc_f_write);
	ring.make_available(0);
	ASSERT_EQ(ring.queue.pop(chain), PopResult::chain);
	decode_blk_request(chain, geometry, request);
	EXPECT_EQ(request.status, nullptr);
}

TEST_F(BlkRequestTest, StatusSharingADescriptorWithDataIsItsLastByte)
{
	virtio_blk_outhdr header{VIRTIO_BLK_T_IN, 0, 0};
	std::memcpy(ring.memory.at<uint8_t>(header_at), &header, sizeof(header));
	ring.set_desc(0, header_at, sizeof(header), desc_f_next, 1);
	ring.set_desc(1, data_at, 513, desc_f_write);
	ring.make_available(0);
	ASSERT_EQ(ring.queue.pop(chain), PopResult::chain);
	EXPECT_EQ(decode_blk_request(chain, geometry, request), VIRTIO_BLK_S_OK);
	EXPECT_EQ(request.status, ring.memory.at<uint8_t>(data_at + 512));
	EXPECT_EQ(request.data_len, 512u);
}

TEST_F(BlkRequestTest, MoreSegmentsThanSegMaxIsAnIoError)
{
	constexpr uint64_t table_at = 0x80000;
	constexpr uint32_t count = blk_seg_max + 3; // header, segments, status
	virtio_blk_outhdr header{VIRTIO_BLK_T_IN, 0, 0};
	std::memcpy(ring.memory.at<uint8_t>(header_at), &header, sizeof(header));
	auto *table = ring.memory.at<vring::Desc>(table_at);
	table[0] = {header_at, sizeof(header), desc_f_next, 1};
	for (uint16_t i = 1; i + 1u < count; ++i)
		table[i] = {data_at + 512u * i, 512, desc_f_write | desc_f_next,
		            static_cast<uint16_t>(i + 1)};
	table[count - 1] = {status_at, 1, desc_f_write, 0};
	ring.set_desc(0, table_at, count * sizeof(vring::Desc), vring::desc_f_indirect);
	ring.make_available(0);
	ASSERT_EQ(ring.queue.pop(chain), PopResult::chain);
	EXPECT_EQ(chain.error, ChainError::none);
	EXPECT_EQ(decode_blk_request(chain, geometry, request), VIRTIO_BLK_S_IOERR);
	EXPECT_EQ(request.status, ring.memory.at<uint8_t>(status_at));
}

TEST_F(BlkRequestTest, SegmentLongerThanSizeMaxIsAnIoError)
{
	ring.reset(16, false, 4u << 20);
	EXPECT_EQ(decode(VIRTIO_BLK_T_IN, 0, blk_size_max, true), VIRTIO_BLK_S_OK);
	ring.reset(16, false, 4u << 20);
	EXPECT_EQ(decode(VIRTIO_BLK_T_IN, 0, blk_size_max * 2, true), VIRTIO_BLK_S_IOERR);
	EXPECT_EQ(request.status, ring.memory.at<uint8_t>(status_at));
}

TEST_F(BlkRequestTest, TheBackendsSmallerLimitsAreTheOnesChecked)
{
	// A vhost-user target's seg_max and size_max, announced to the driver.
	geometry.size_max = 8192;
	geometry.seg_max = 2;
	EXPECT_EQ(geometry.segment_bytes(), 8192u);
	EXPECT_EQ(geometry.data_segments(), 2u);
	ring.reset(16, false, 4u << 20);
	EXPECT_EQ(decode(VIRTIO_BLK_T_IN, 0, 8192, true), VIRTIO_BLK_S_OK);
	ring.reset(16, false, 4u << 20);
	EXPECT_EQ(decode(VIRTIO_BLK_T_IN, 0, 8192 + 512, true), VIRTIO_BLK_S_IOERR);
	// Larger than vdused's own: vdused's hold.
	geometry.size_max = 4u << 20;
	geometry.seg_max = 1000;
	EXPECT_EQ(geometry.segment_bytes(), blk_size_max);
	EXPECT_EQ(geometry.data_segments(), blk_seg_max);
}

TEST_F(BlkRequestTest, DiscardOnReadOnlyIsUnsupported)
{
	geometry.read_only = true;
	virtio_blk_discard_write_zeroes seg{8, 16, 0};
	std::memcpy(ring.memory.at<uint8_t>(data_at), &seg, sizeof(seg));
	EXPECT_EQ(decode(VIRTIO_BLK_T_DISCARD, 0, sizeof(seg), false), VIRTIO_BLK_S_UNSUPP);
	ring.reset(16);
	std::memcpy(ring.memory.at<uint8_t>(data_at), &seg, sizeof(seg));
	EXPECT_EQ(decode(VIRTIO_BLK_T_WRITE_ZEROES, 0, sizeof(seg), false), VIRTIO_BLK_S_UNSUPP);
}

TEST_F(BlkRequestTest, EmptyDiscardRangeAsksForNothing)
{
	virtio_blk_discard_write_zeroes segs[2] = {{8, 0, 0}, {16, 8, 0}};
	std::memcpy(ring.memory.at<uint8_t>(data_at), segs, sizeof(segs));
	EXPECT_EQ(decode(VIRTIO_BLK_T_DISCARD, 0, sizeof(segs), false), VIRTIO_BLK_S_OK);
	ASSERT_EQ(request.ranges.size(), 1u);
	EXPECT_EQ(request.ranges[0].offset, 16u * 512);
}

TEST_F(BlkRequestTest, DiscardRangesAreChecked)
{
	virtio_blk_discard_write_zeroes seg{8, 16, 0};
	std::memcpy(ring.memory.at<uint8_t>(data_at), &seg, sizeof(seg));
	EXPECT_EQ(decode(VIRTIO_BLK_T_DISCARD, 0, sizeof(seg), false), VIRTIO_BLK_S_OK);
	ASSERT_EQ(request.ranges.size(), 1u);
	EXPECT_EQ(request.ranges[0].offset, 4096u);
	EXPECT_EQ(request.ranges[0].length, 8192u);
}

TEST_F(BlkRequestTest, DiscardWithFlagsIsUnsupported)
{
	virtio_blk_discard_write_zeroes seg{8, 16, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP};
	std::memcpy(ring.memory.at<uint8_t>(data_at), &seg, sizeof(seg));
	EXPECT_EQ(decode(VIRTIO_BLK_T_DISCARD, 0, sizeof(seg), false), VIRTIO_BLK_S_UNSUPP);
}

TEST_F(BlkRequestTest, WriteZeroesKeepsTheUnmapFlag)
{
	virtio_blk_discard_write_zeroes seg{0, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP};
	std::memcpy(ring.memory.at<uint8_t>(data_at), &seg, sizeof(seg));
	EXPECT_EQ(decode(VIRTIO_BLK_T_WRITE_ZEROES, 0, sizeof(seg), false), VIRTIO_BLK_S_OK);
	ASSERT_EQ(request.ranges.size(), 1u);
	EXPECT_TRUE(request.ranges[0].unmap);
}

TEST_F(BlkRequestTest, DiscardPastTheEndOrMalformedIsAnIoError)
{
	virtio_blk_discard_write_zeroes seg{(1 << 21) - 8, 16, 0};
	std::memcpy(ring.memory.at<uint8_t>(data_at), &seg, sizeof(seg));
	EXPECT_EQ(decode(VIRTIO_BLK_T_DISCARD, 0, sizeof(seg), false), VIRTIO_BLK_S_IOERR);
	ring.reset(16);
	EXPECT_EQ(decode(VIRTIO_BLK_T_DISCARD, 0, 10, false), VIRTIO_BLK_S_IOERR);
}

TEST_F(BlkRequestTest, GetIdIsDecoded)
{
	EXPECT_EQ(decode(VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, true), VIRTIO_BLK_S_OK);
	EXPECT_EQ(blk_used_length(request, VIRTIO_BLK_S_OK), VIRTIO_BLK_ID_BYTES + 1u);
	// The serial is not the storage's data: stats count no bytes for it.
	EXPECT_EQ(blk_bytes_moved(request), 0u);
}

TEST_F(BlkRequestTest, FlushNeedsNoData)
{
	EXPECT_EQ(decode(VIRTIO_BLK_T_FLUSH, 0, 0, false), VIRTIO_BLK_S_OK);
}

TEST_F(BlkRequestTest, WhatTheBackendCannotDoIsUnsupported)
{
	// A network server without flush, trim or write zeroes: the driver was
	// not offered them (blk_config.cpp) and a driver that sends them anyway
	// is told UNSUPP, never handed to the backend.
	geometry.flush = false;
	geometry.discard = false;
	geometry.write_zeroes = false;
	EXPECT_EQ(decode(VIRTIO_BLK_T_FLUSH, 0, 0, false), VIRTIO_BLK_S_UNSUPP);
	virtio_blk_discard_write_zeroes seg{8, 16, 0};
	ring.reset(16);
	std::memcpy(ring.memory.at<uint8_t>(data_at), &seg, sizeof(seg));
	EXPECT_EQ(decode(VIRTIO_BLK_T_DISCARD, 0, sizeof(seg), false), VIRTIO_BLK_S_UNSUPP);
	ring.reset(16);
	std::memcpy(ring.memory.at<uint8_t>(data_at), &seg, sizeof(seg));
	EXPECT_EQ(decode(VIRTIO_BLK_T_WRITE_ZEROES, 0, sizeof(seg), false), VIRTIO_BLK_S_UNSUPP);
}

TEST(BlkFeatures, OnlyWhatTheBackendCanDoIsOffered)
{
	BlkGeometry g;
	g.capacity_sectors = 8;
	auto has = [](uint64_t features, unsigned bit) { return (features >> bit) & 1; };
	uint64_t all = blk_device_features(g);
	EXPECT_TRUE(has(all, VIRTIO_BLK_F_FLUSH));
	EXPECT_TRUE(has(all, VIRTIO_BLK_F_DISCARD));
	EXPECT_TRUE(has(all, VIRTIO_BLK_F_WRITE_ZEROES));
	g.flush = false;
	g.discard = false;
	uint64_t some = blk_device_features(g);
	EXPECT_FALSE(has(some, VIRTIO_BLK_F_FLUSH));
	EXPECT_FALSE(has(some, VIRTIO_BLK_F_DISCARD));
	EXPECT_TRUE(has(some, VIRTIO_BLK_F_WRITE_ZEROES));
}
