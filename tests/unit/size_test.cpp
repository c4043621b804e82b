#include "base/size.h"

#include <gtest/gtest.h>

using vduse::format_size;
using vduse::format_size_rounded;
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

TEST(ParseSize, IecUnitsAnyCaseWithOptionalIAndB)
{
	// Was refused: 1GB, 1gib, 1.5G.
	for (const char *g : {"1G", "1g", "1GiB", "1gib", "1GB", "1gb", "1Gi", "1073741824B"})
		EXPECT_EQ(*parse_size(g), 1u << 30) << g;
	EXPECT_EQ(*parse_size("1.5G"), 3ull << 29);
	EXPECT_EQ(*parse_size("0.5K"), 512u);
	EXPECT_EQ(*parse_size("2.25M"), 9ull << 18);
	EXPECT_EQ(*parse_size("7B"), 7u);
	EXPECT_EQ(*parse_size("1P"), 1ull << 50);
	EXPECT_EQ(*parse_size("15E"), 15ull << 60);
}

TEST(ParseSize, RefusesWhatIsNotAWholeNumberOfBytes)
{
	auto r = parse_size("1.3K"); // 1331.2 bytes
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(r.error().message, "size '1.3K' is not a whole number of bytes");
	EXPECT_FALSE(parse_size("0.5").ok());
}

TEST(ParseSize, RefusesGarbageAndNamesIt)
{
	for (const char *bad :
	     {"", "G", "-1", "12X", "1GiBB", " 1", "1 G", "1..5G", ".", "1.G", "1Bi", "1KK"}) {
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
	EXPECT_FALSE(parse_size("16E").ok());
}

TEST(FormatSize, PicksLargestExactUnit)
{
	EXPECT_EQ(format_size(1u << 30), "1G");
	EXPECT_EQ(format_size(3072), "3K");
	EXPECT_EQ(format_size(0), "0");
	EXPECT_EQ(format_size(512), "512");
}

TEST(FormatSize, ExactWithUpToTwoDecimalsElseBytes)
{
	// Was "1536M" and a rounded "976563K".
	EXPECT_EQ(format_size(3ull << 29), "1.5G");
	EXPECT_EQ(format_size(1536), "1.5K");
	EXPECT_EQ(format_size(5ull << 28), "1.25G");
	EXPECT_EQ(format_size(1000000512), "1000000512");
	EXPECT_EQ(format_size(1023ull << 20), "1023M");
	// Every output parses back to the same number.
	for (uint64_t n : {uint64_t{1} << 30, uint64_t{3} << 29, uint64_t{1536},
	                   uint64_t{1000000512}, uint64_t{5} << 28, uint64_t{12} << 60})
		EXPECT_EQ(*parse_size(format_size(n)), n) << n;
}

TEST(FormatSizeRounded, ThreeSignificantDigits)
{
	// Was "12000000K" in stats.
	EXPECT_EQ(format_size_rounded(12000000ull << 10), "11.4G");
	EXPECT_EQ(format_size_rounded(2ull << 30), "2G");
	EXPECT_EQ(format_size_rounded(1000ull << 20), "1000M");
	EXPECT_EQ(format_size_rounded(3ull << 29), "1.5G");
	EXPECT_EQ(format_size_rounded(512ull << 20), "512M");
	EXPECT_EQ(format_size_rounded(17), "17");
}
