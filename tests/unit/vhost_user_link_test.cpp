// Where VhostUserLink tells a target the driver's memory is (direct rings),
// without a target: the addresses are the link's to choose (the guest
// scenario vhu-011 checks that DPDK maps the memory again at each driver).
#include "backends/link_reporter.h"
#include "backends/vhost_user_link.h"
#include "status_line.h"

#include <filesystem>
#include <gtest/gtest.h>
#include <sys/eventfd.h>

using namespace vduse;

namespace
{

struct LinkFixture : ::testing::Test {
	std::filesystem::path dir = std::filesystem::temp_directory_path() /
	                            ("vhost_user_link_test." + std::to_string(::getpid()));
	StatusLine status;
	std::optional<LinkReporter> reporter;
	std::optional<VhostUserLink> link;

	void SetUp() override
	{
		std::filesystem::create_directories(dir);
		reporter.emplace(dir / "dev.link", 1, status);
		DeviceSpec spec;
		spec.name = "dev";
		spec.backend = "vhost-user";
		spec.socket = (dir / "target.sock").string();
		link.emplace(spec, *reporter, 4096);
	}
	void TearDown() override
	{
		link.reset();
		reporter.reset();
		std::filesystem::remove_all(dir);
	}
	// The driver's domain as one region from IOVA 0, as direct rings give it.
	uint64_t add_domain(uint64_t size)
	{
		VhostUserRegion region;
		region.guest_address = 0;
		region.size = size;
		return link->add_driver_region(region, UniqueFd(::eventfd(0, EFD_CLOEXEC)));
	}
};

TEST_F(LinkFixture, ANewDriverRegionIsAtAnotherUserAddressThanTheLastOne)
{
	uint64_t first = add_domain(1 << 20);
	EXPECT_EQ(first, driver_user_base);
	// A reset takes it back; the next driver's domain looks the same to a
	// target unless the user address changes.
	link->invalidate(0, (1 << 20) - 1);
	uint64_t second = add_domain(1 << 20);
	EXPECT_NE(second, first);
	EXPECT_GT(second, first);
	link->invalidate(0, (1 << 20) - 1);
	EXPECT_EQ(add_domain(1 << 20), first);
}

TEST_F(LinkFixture, TheSameRegionStartedAgainKeepsItsAddress)
{
	uint64_t first = add_domain(1 << 20);
	// Started again without a reset: the target has it already.
	EXPECT_EQ(add_domain(1 << 20), first);
	// A bigger domain after a reset is a new region, at the other address.
	link->invalidate(0, (1 << 20) - 1);
	EXPECT_NE(add_domain(2 << 20), first);
}

TEST_F(LinkFixture, BothAddressesLeaveRoomForTheWholeDomain)
{
	// VDUSE's IOVAs stay far below 2^48 (vduse_dev.c: the bounce domain
	// under 2 GiB), so the two ranges never overlap.
	uint64_t size = uint64_t{1} << 40;
	uint64_t a = add_domain(size);
	link->invalidate(0, size - 1);
	uint64_t b = add_domain(size);
	EXPECT_GE(b - a, size);
}

} // namespace
