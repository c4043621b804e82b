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

TEST(CpuList, MaskTextOfSeveralCpus)
{
	EXPECT_EQ(cpu_mask_text(std::vector<unsigned>{0, 1}), "3");
	EXPECT_EQ(cpu_mask_text(std::vector<unsigned>{4, 5, 6, 7}), "f0");
	EXPECT_EQ(cpu_mask_text(std::vector<unsigned>{0, 33}), "2,00000001");
}

TEST(CpuList, ParsesTheKernelsMasks)
{
	// As irq_cb_affinity shows them: "%*pb", with a newline.
	EXPECT_EQ(parse_cpu_mask("f0\n").value(), (std::vector<unsigned>{4, 5, 6, 7}));
	EXPECT_EQ(parse_cpu_mask("ff").value().size(), 8u);
	EXPECT_EQ(parse_cpu_mask("00000001,00000003").value(), (std::vector<unsigned>{0, 1, 32}));
	EXPECT_TRUE(parse_cpu_mask("0").value().empty());
	for (unsigned cpu : {0u, 31u, 32u, 100u})
		EXPECT_EQ(parse_cpu_mask(cpu_mask_text(cpu)).value(), std::vector<unsigned>{cpu});
	EXPECT_FALSE(parse_cpu_mask(""));
	EXPECT_FALSE(parse_cpu_mask("g"));
	EXPECT_FALSE(parse_cpu_mask("1,,2"));
	EXPECT_FALSE(parse_cpu_mask("123456789"));
	EXPECT_FALSE(parse_cpu_mask("0x1"));
}
