// The stats file: what a queue counts is what a reader reads, totals and
// percentiles add up, and a file that is not a stats file is refused.
#include "state/device_stats.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <linux/virtio_blk.h>
#include <unistd.h>

using namespace vduse;
namespace fs = std::filesystem;

namespace
{

class DeviceStatsTest : public ::testing::Test
{
protected:
	void SetUp() override
	{
		std::string tmpl = (fs::temp_directory_path() / "vduse-stats-XXXXXX").string();
		ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
		dir_ = tmpl;
	}
	void TearDown() override { fs::remove_all(dir_); }
	fs::path dir_;
};

TEST_F(DeviceStatsTest, WhatQueuesCountIsWhatIsRead)
{
	auto file = StatsFile::create(dir_ / "d.stats", 2);
	ASSERT_TRUE(file) << file.error().message;
	LiveQueueStats &q0 = file->queue(0);
	LiveQueueStats &q1 = file->queue(1);
	for (int i = 0; i < 90; ++i) {
		q0.count_request(VIRTIO_BLK_T_IN, 4096);
		q0.count_completion(VIRTIO_BLK_S_OK, 1000); // bucket 2^10
	}
	for (int i = 0; i < 10; ++i) {
		q1.count_request(VIRTIO_BLK_T_OUT, 65536);
		q1.count_completion(VIRTIO_BLK_S_IOERR, 100000); // bucket 2^17
	}
	q1.count_request(VIRTIO_BLK_T_FLUSH, 0); // still in flight
	q1.count_request(VIRTIO_BLK_T_GET_ID, 0);
	q1.count_completion(VIRTIO_BLK_S_UNSUPP, 10);
	LiveQueueStats::add(q0.interrupts, 7);
	LiveQueueStats::add(q1.kicks, 3);

	auto snap = read_stats(dir_ / "d.stats");
	ASSERT_TRUE(snap) << snap.error().message;
	ASSERT_EQ(snap->queues.size(), 2u);
	EXPECT_GT(snap->started_unix_ns, 0u);
	QueueStats all = total(*snap);
	EXPECT_EQ(all.requests[static_cast<size_t>(StatType::read)], 90u);
	EXPECT_EQ(all.bytes[static_cast<size_t>(StatType::read)], 90u * 4096);
	EXPECT_EQ(all.requests[static_cast<size_t>(StatType::write)], 10u);
	EXPECT_EQ(all.bytes[static_cast<size_t>(StatType::write)], 10u * 65536);
	EXPECT_EQ(all.requests[static_cast<size_t>(StatType::flush)], 1u);
	EXPECT_EQ(all.ok, 90u);
	EXPECT_EQ(all.io_errors, 10u);
	EXPECT_EQ(all.unsupported, 1u);
	EXPECT_EQ(in_flight(all), 1u);
	EXPECT_EQ(in_flight(snap->queues[0]), 0u);
	EXPECT_EQ(all.interrupts, 7u);
	EXPECT_EQ(all.kicks, 3u);
	EXPECT_EQ(all.latency_ns_total, 90u * 1000 + 10u * 100000 + 10);
	EXPECT_EQ(latency_percentile_ns(all, 0.5), 1024u);
	EXPECT_EQ(latency_percentile_ns(all, 0.99), 131072u);
	EXPECT_EQ(latency_percentile_ns(QueueStats{}, 0.5), 0u);
}

TEST_F(DeviceStatsTest, CreateStartsAfresh)
{
	{
		auto file = StatsFile::create(dir_ / "d.stats", 1);
		ASSERT_TRUE(file);
		file->queue(0).count_request(VIRTIO_BLK_T_IN, 512);
	}
	auto file = StatsFile::create(dir_ / "d.stats", 1);
	ASSERT_TRUE(file);
	auto snap = read_stats(dir_ / "d.stats");
	ASSERT_TRUE(snap);
	EXPECT_EQ(total(*snap).requests[0], 0u);
}

TEST_F(DeviceStatsTest, RefusesWhatIsNotAStatsFile)
{
	EXPECT_FALSE(read_stats(dir_ / "missing.stats"));
	std::ofstream(dir_ / "junk.stats") << std::string(4096, 'x');
	auto junk = read_stats(dir_ / "junk.stats");
	ASSERT_FALSE(junk);
	EXPECT_NE(junk.error().message.find("is not a stats file"), std::string::npos);
	{
		auto file = StatsFile::create(dir_ / "cut.stats", 4);
		ASSERT_TRUE(file);
	}
	fs::resize_file(dir_ / "cut.stats", 100);
	EXPECT_FALSE(read_stats(dir_ / "cut.stats"));
	fs::create_directory(dir_ / "dir.stats");
	EXPECT_FALSE(read_stats(dir_ / "dir.stats"));
}

} // namespace

TEST(DeviceStats, DifferenceIsWhatHappenedBetweenTwoReadings)
{
	QueueStats before;
	before.requests[static_cast<size_t>(StatType::read)] = 10;
	before.ok = 10;
	before.latency_ns_total = 1000;
	before.latency[3] = 10;
	QueueStats now = before;
	now.requests[static_cast<size_t>(StatType::read)] = 25;
	now.ok = 25;
	now.latency_ns_total = 4000;
	now.latency[5] = 15;
	QueueStats d = difference(now, before);
	EXPECT_EQ(d.requests[static_cast<size_t>(StatType::read)], 15u);
	EXPECT_EQ(d.ok, 15u);
	EXPECT_EQ(d.latency_ns_total, 3000u);
	EXPECT_EQ(d.latency[3], 0u);
	EXPECT_EQ(d.latency[5], 15u);
	// Only the interval's completions count for its percentiles.
	EXPECT_EQ(latency_percentile_ns(d, 0.99), latency_percentile_ns(now, 1.0));
	// A new daemon started in between: its counters are the interval's.
	QueueStats restarted;
	restarted.ok = 3;
	EXPECT_EQ(difference(restarted, before).ok, 3u);
}
