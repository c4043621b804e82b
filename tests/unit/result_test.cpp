// Errors as values: the kind travels with the error, decided where it is made.
#include "base/result.h"
#include "base/size.h"

#include <gtest/gtest.h>

using namespace vduse;

TEST(Result, KindIsDecidedWhereTheErrorIsMade)
{
	EXPECT_TRUE(usage_error("bad").is_usage());
	EXPECT_FALSE(failure("broken").is_usage());
	EXPECT_FALSE(system_error(EINVAL, "ioctl").is_usage())
	        << "an errno says nothing of whose fault";
	Error e = with_context("dev", usage_error("size 'x' is not a number"));
	EXPECT_TRUE(e.is_usage());
	EXPECT_EQ(e.message, "dev: size 'x' is not a number");
}

TEST(Result, ABadSizeIsTheUsersMistake)
{
	auto size = parse_size("12Q");
	ASSERT_FALSE(size.ok());
	EXPECT_TRUE(size.error().is_usage());
}
