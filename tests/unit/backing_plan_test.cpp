// What add makes of --file and --size for the file and loop backends, and
// whose fault each refusal is (usage: exit 2; failure: exit 1).
#include "backing_plan.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace vduse;
namespace fs = std::filesystem;

namespace
{

class BackingPlanTest : public ::testing::Test
{
protected:
	void SetUp() override
	{
		std::string pattern = (fs::temp_directory_path() / "vduse-plan-XXXXXX").string();
		ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
		dir = pattern;
		fs::create_directories(dir / "state");
		state = StateDir(dir / "state");
	}
	void TearDown() override { fs::remove_all(dir); }

	AddOptions options(const std::string &file, const std::string &backend = "file")
	{
		AddOptions o;
		o.spec.name = "d0";
		o.spec.backend = backend;
		o.spec.file = (dir / file).string();
		return o;
	}
	void make_file(const std::string &name, uintmax_t size)
	{
		std::ofstream(dir / name).close();
		fs::resize_file(dir / name, size);
	}

	fs::path dir;
	StateDir state{""};
};

} // namespace

TEST_F(BackingPlanTest, MissingImageIsCreatedWithTheGivenSize)
{
	AddOptions o = options("new.img");
	auto plan = plan_backing(state, o, 1 << 20);
	ASSERT_TRUE(plan.ok()) << plan.error().message;
	EXPECT_TRUE(plan->create);
	EXPECT_EQ(o.spec.size_bytes, 1u << 20);
	ASSERT_TRUE(apply_backing(o.spec, *plan).ok());
	EXPECT_EQ(fs::file_size(o.spec.file), 1u << 20);
	revert_backing(o.spec, *plan);
	EXPECT_FALSE(fs::exists(o.spec.file)) << "undo removes what add created";
}

TEST_F(BackingPlanTest, MissingImageWithoutSizeIsAFailureNotUsage)
{
	AddOptions o = options("new.img");
	auto plan = plan_backing(state, o, 0);
	ASSERT_FALSE(plan.ok());
	EXPECT_FALSE(plan.error().is_usage());
	EXPECT_NE(plan.error().message.find("give --size to create it"), std::string::npos);
}

TEST_F(BackingPlanTest, MissingLoopFileIsAFailure)
{
	AddOptions o = options("gone.img", "loop");
	auto plan = plan_backing(state, o, 0);
	ASSERT_FALSE(plan.ok());
	EXPECT_FALSE(plan.error().is_usage());
	EXPECT_NE(plan.error().message.find("does not exist"), std::string::npos);
}

TEST_F(BackingPlanTest, ExistingImageGivesItsSize)
{
	make_file("a.img", 8 << 20);
	AddOptions o = options("a.img");
	auto plan = plan_backing(state, o, 0);
	ASSERT_TRUE(plan.ok()) << plan.error().message;
	EXPECT_FALSE(plan->create);
	EXPECT_FALSE(plan->grow);
	EXPECT_EQ(o.spec.size_bytes, 8u << 20);
}

TEST_F(BackingPlanTest, SmallerSizeOrGrowthWithoutGrowAreUsageErrors)
{
	make_file("a.img", 8 << 20);
	AddOptions o = options("a.img");
	auto smaller = plan_backing(state, o, 4 << 20);
	ASSERT_FALSE(smaller.ok());
	EXPECT_TRUE(smaller.error().is_usage());
	EXPECT_NE(smaller.error().message.find("is smaller than"), std::string::npos);
	o = options("a.img");
	auto larger = plan_backing(state, o, 16 << 20);
	ASSERT_FALSE(larger.ok());
	EXPECT_TRUE(larger.error().is_usage());
	EXPECT_NE(larger.error().message.find("add --grow to grow it"), std::string::npos);
}

TEST_F(BackingPlanTest, GrowIsUndoneOnFailure)
{
	make_file("a.img", 8 << 20);
	AddOptions o = options("a.img");
	o.grow = true;
	auto plan = plan_backing(state, o, 16 << 20);
	ASSERT_TRUE(plan.ok()) << plan.error().message;
	EXPECT_TRUE(plan->grow);
	ASSERT_TRUE(apply_backing(o.spec, *plan).ok());
	EXPECT_EQ(fs::file_size(o.spec.file), 16u << 20);
	revert_backing(o.spec, *plan);
	EXPECT_EQ(fs::file_size(o.spec.file), 8u << 20);
}

TEST_F(BackingPlanTest, DirectoriesAndFifosAreFailuresNotUsageErrors)
{
	fs::create_directory(dir / "adir");
	AddOptions o = options("adir");
	auto d = plan_backing(state, o, 0);
	ASSERT_FALSE(d.ok());
	EXPECT_FALSE(d.error().is_usage());
	EXPECT_NE(d.error().message.find("is a directory"), std::string::npos);
	ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
	o = options("fifo");
	auto f = plan_backing(state, o, 0);
	ASSERT_FALSE(f.ok());
	EXPECT_FALSE(f.error().is_usage());
	EXPECT_NE(f.error().message.find("neither a regular file nor a block device"),
	          std::string::npos);
}

TEST_F(BackingPlanTest, AFileBacksOneDeviceOnly)
{
	make_file("a.img", 8 << 20);
	DeviceRecord other;
	other.spec.name = "other";
	other.spec.backend = "file";
	other.spec.file = (dir / "a.img").string();
	other.spec.size_bytes = 8 << 20;
	ASSERT_TRUE(state.write(other).ok());
	AddOptions o = options("./a.img");
	auto plan = plan_backing(state, o, 0);
	ASSERT_FALSE(plan.ok());
	EXPECT_FALSE(plan.error().is_usage());
	EXPECT_NE(plan.error().message.find("already backs device 'other'"), std::string::npos);
}

TEST_F(BackingPlanTest, RelativePathsBecomeAbsolute)
{
	make_file("a.img", 1 << 20);
	fs::path cwd = fs::current_path();
	fs::current_path(dir);
	AddOptions o;
	o.spec.name = "d0";
	o.spec.backend = "file";
	o.spec.file = "a.img";
	auto plan = plan_backing(state, o, 0);
	fs::current_path(cwd);
	ASSERT_TRUE(plan.ok()) << plan.error().message;
	EXPECT_EQ(o.spec.file, (dir / "a.img").string());
}
