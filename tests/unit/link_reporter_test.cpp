// What STATE_DIR/NAME.link says as a network backend's connection goes and
// comes back, and when it is written (vdusectl show reads it).
#include "backends/link_reporter.h"
#include "state/link_status.h"
#include "status_line.h"

#include <filesystem>
#include <gtest/gtest.h>
#include <unistd.h>

using namespace vduse;

namespace
{

struct ReporterFixture : ::testing::Test {
	std::filesystem::path dir = std::filesystem::temp_directory_path() /
	                            ("link_reporter_test." + std::to_string(::getpid()));
	std::filesystem::path file = dir / "dev.link";
	StatusLine status;
	std::optional<LinkReporter> reporter;

	void SetUp() override
	{
		std::filesystem::create_directories(dir);
		reporter.emplace(file, 1, status);
	}
	void TearDown() override
	{
		reporter.reset();
		std::filesystem::remove_all(dir);
	}
	LinkStatus written()
	{
		auto st = read_link_status(file);
		EXPECT_TRUE(st.ok()) << (st ? "" : st.error().message);
		return st ? *st : LinkStatus{};
	}
};

TEST_F(ReporterFixture, AConnectionThatTakesTheChannelIsOneWrite)
{
	reporter->report(0, LinkState::reconnecting);
	ASSERT_TRUE(std::filesystem::exists(file));
	EXPECT_EQ(written().state, LinkState::reconnecting);
	std::filesystem::remove(file);
	// The connection sets the flag, then reports: the report writes both.
	reporter->set_follows_target_size(true);
	EXPECT_FALSE(std::filesystem::exists(file));
	reporter->report(0, LinkState::connected);
	LinkStatus now = written();
	EXPECT_EQ(now.state, LinkState::connected);
	EXPECT_EQ(now.follows_target_size, std::optional<bool>(true));
}

TEST_F(ReporterFixture, TheChannelLostWhileConnectedIsWrittenAtOnce)
{
	reporter->set_follows_target_size(true);
	reporter->report(0, LinkState::connected);
	std::filesystem::remove(file);
	reporter->set_follows_target_size(false);
	LinkStatus now = written();
	EXPECT_EQ(now.state, LinkState::connected);
	EXPECT_EQ(now.follows_target_size, std::optional<bool>(false));
	// Nothing changed: nothing written.
	std::filesystem::remove(file);
	reporter->set_follows_target_size(false);
	reporter->report(0, LinkState::connected);
	EXPECT_FALSE(std::filesystem::exists(file));
}

TEST_F(ReporterFixture, TheRecordIsRemovedWithTheReporter)
{
	reporter->report(0, LinkState::connected);
	ASSERT_TRUE(std::filesystem::exists(file));
	reporter.reset();
	EXPECT_FALSE(std::filesystem::exists(file));
}

} // namespace
