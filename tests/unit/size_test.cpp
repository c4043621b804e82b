#include "base/size.h"

#include <gtest/gtest.h>

using vduse::format_size;
using vduse::parse_size;

TEST(ParseSize, PlainBytes)
{
	EXPECT_EQ(*parse_size("4096"), 4096u);
}

TEST(ParseSize, BinarySuffixes)
{
	EXPECT_EQ(*parse_size("1K"), 1024u);
	EXPECT_EQ(*parse_size("512M"), 512u << 20);
	EXPECT_EQ(*parse_size("1G"), 1u << 30);
	EXPECT_EQ(*parse_size("2g"), 2ull << 30);
	EXPECT_EQ(*parse_size("3T"), 3ull << 40);
	EXPECT_EQ(*parse_size("1GiB"), 1u << 30);
}

TEST(ParseSize, RefusesGarbageAndNamesIt)
{
	for (const char *bad : {"", "G", "-1", "1.5G", "12X", "1GB", " 1", "1 G"}) {
		auto r = parse_size(bad);
		ASSERT_FALSE(r.ok()) << bad;
		EXPECT_NE(r.error().message.find(std::string("'") + bad + "'"), std::string::npos)
		        << r.error().message;
	}
}

TEST(ParseSize, RefusesOverflow)
{
	EXPECT_FALSE(parse_size("99999999999999999999").ok());
	EXPECT_FALSE(parse_size("16777216T").ok());
	EXPECT_TRUE(parse_size("16777215T").ok());
}

TEST(FormatSize, PicksLargestExactUnit)
{
	EXPECT_EQ(format_size(1u << 30), "1G");
	EXPECT_EQ(format_size(3072), "3K");
	EXPECT_EQ(format_size(1536), "1536");
	EXPECT_EQ(format_size(0), "0");
}
