#include "base/cpu_list.h"

#include <gtest/gtest.h>

using namespace vduse;

TEST(CpuList, ParsesListsAndRanges)
{
	auto cpus = parse_cpu_list("0-3,8,10-11,2");
	ASSERT_TRUE(cpus.ok());
	EXPECT_EQ(*cpus, (std::vector<unsigned>{0, 1, 2, 3, 8, 10, 11}));
	cpus = parse_cpu_list("5");
	ASSERT_TRUE(cpus.ok());
	EXPECT_EQ(*cpus, std::vector<unsigned>{5});
}

TEST(CpuList, RefusesWhatIsNotAList)
{
	for (const char *bad :
	     {"", "a", "1,", ",1", "1-", "-1", "1--2", "1 2", "+1", "8192", "99999999999", "0x1"}) {
		auto cpus = parse_cpu_list(bad);
		EXPECT_FALSE(cpus.ok()) << bad;
		if (!cpus.ok()) {
			EXPECT_TRUE(cpus.error().is_usage()) << bad;
		}
	}
	auto reversed = parse_cpu_list("3-1");
	ASSERT_FALSE(reversed.ok());
	EXPECT_NE(reversed.error().message.find("reversed range"), std::string::npos);
}

TEST(CpuList, MaskTextIsTheKernelsBitmapFormat)
{
	EXPECT_EQ(cpu_mask_text(0), "1");
	EXPECT_EQ(cpu_mask_text(1), "2");
	EXPECT_EQ(cpu_mask_text(31), "80000000");
	EXPECT_EQ(cpu_mask_text(32), "1,00000000");
	EXPECT_EQ(cpu_mask_text(65), "2,00000000,00000000");
}
