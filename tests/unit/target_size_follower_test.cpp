// TargetSizeFollower against a fake device and a real state directory: it
// asks the target at most once per interval however often it is told, takes
// the size in whole blocks, writes the record only with the lock free and
// only a record that still exists (the guest scenario vhu-012 runs it
// against DPDK's vhost library).
#include "target_size_follower.h"

#include <filesystem>
#include <gtest/gtest.h>
#include <thread>

using namespace vduse;
namespace fs = std::filesystem;

namespace
{

struct FakeDevice : ResizableDevice {
	uint64_t remote = 0;
	uint64_t size = 0;
	unsigned asked = 0;
	unsigned resized = 0;
	Result<uint64_t> remote_size() override
	{
		++asked;
		return remote;
	}
	Status resize(uint64_t bytes) override
	{
		++resized;
		size = bytes;
		return {};
	}
	uint64_t size_bytes() const override { return size; }
};

class FollowerTest : public ::testing::Test
{
protected:
	void SetUp() override
	{
		std::string tmpl = (fs::temp_directory_path() / "vduse-follow-XXXXXX").string();
		ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
		root_ = tmpl;
		state_.emplace(root_);
		DeviceRecord record;
		record.spec.name = "v0";
		record.spec.backend = "vhost-user";
		record.spec.socket = "/run/vhu/t.sock";
		record.spec.size_bytes = 64 << 20;
		ASSERT_TRUE(state_->write(record));
		device_.size = device_.remote = 64 << 20;
	}
	void TearDown() override { fs::remove_all(root_); }
	// The device's spec with this block size.
	static DeviceSpec spec(uint32_t block_size)
	{
		DeviceSpec spec;
		spec.name = "v0";
		spec.block_size = block_size;
		return spec;
	}
	uint64_t record_size() const
	{
		auto record = state_->read("v0");
		EXPECT_TRUE(record) << record.error().message;
		return record ? record->spec.size_bytes : 0;
	}

	fs::path root_;
	std::optional<StateDir> state_;
	FakeDevice device_;
};

} // namespace

TEST_F(FollowerTest, FollowsTheTargetAndWritesTheRecord)
{
	TargetSizeFollower follower(device_, *state_, spec(4096));
	EXPECT_FALSE(follower.tick()) << "nothing said, nothing to do";
	EXPECT_EQ(device_.asked, 0u);
	device_.remote = (128 << 20) + 1000; // not whole blocks: rounded down
	follower.changed();
	EXPECT_FALSE(follower.tick());
	EXPECT_EQ(device_.size, uint64_t{128} << 20);
	EXPECT_EQ(record_size(), uint64_t{128} << 20);
	// Said again with no change: asked, not resized.
	std::this_thread::sleep_for(TargetSizeFollower::min_interval);
	follower.changed();
	EXPECT_FALSE(follower.tick());
	EXPECT_EQ(device_.asked, 2u);
	EXPECT_EQ(device_.resized, 1u);
}

TEST_F(FollowerTest, AsksAtMostOncePerInterval)
{
	TargetSizeFollower follower(device_, *state_, spec(512));
	follower.changed();
	EXPECT_FALSE(follower.tick());
	EXPECT_EQ(device_.asked, 1u);
	// A flood within the interval: one more question, after it.
	for (int i = 0; i < 1000; ++i) {
		follower.changed();
		EXPECT_TRUE(follower.tick()) << "more to do soon";
	}
	EXPECT_EQ(device_.asked, 1u);
	std::this_thread::sleep_for(TargetSizeFollower::min_interval);
	EXPECT_FALSE(follower.tick());
	EXPECT_EQ(device_.asked, 2u);
}

TEST_F(FollowerTest, WaitsForAFreeLockAndNeverForTheLock)
{
	TargetSizeFollower follower(device_, *state_, spec(512));
	auto held = state_->lock(); // vdusectl, waiting for vdused's answer
	ASSERT_TRUE(held) << held.error().message;
	device_.remote = 96 << 20;
	follower.changed();
	EXPECT_TRUE(follower.tick()) << "the record is behind while the lock is held";
	EXPECT_EQ(device_.size, uint64_t{96} << 20) << "the device follows at once";
	EXPECT_EQ(record_size(), uint64_t{64} << 20);
	held = Error{};
	EXPECT_FALSE(follower.tick());
	EXPECT_EQ(record_size(), uint64_t{96} << 20);
}

TEST_F(FollowerTest, NeitherRecreatesADeletedRecordNorTakesLessThanABlock)
{
	TargetSizeFollower follower(device_, *state_, spec(4096));
	device_.remote = 100; // less than a block: the device keeps its size
	follower.changed();
	EXPECT_FALSE(follower.tick());
	EXPECT_EQ(device_.resized, 0u);
	state_->remove("v0"); // vdusectl del under way
	std::this_thread::sleep_for(TargetSizeFollower::min_interval);
	device_.remote = 80 << 20;
	follower.changed();
	EXPECT_FALSE(follower.tick());
	EXPECT_EQ(device_.size, uint64_t{80} << 20);
	EXPECT_FALSE(state_->has("v0"));
}
