// Parser errors in the project's voice, from CLI11's own exceptions.
#include "base/cli_errors.h"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace vduse
{
namespace
{

// The text for args (after the program name), or "" if they parse.
std::string error_for(std::vector<std::string> args)
{
	CLI::App app("test");
	std::string name;
	unsigned queues = 1;
	double watch = 1;
	std::string driver;
	app.add_option("name", name, "The device")->required();
	app.add_option("--queues", queues, "Queues");
	app.add_option("-w,--watch", watch, "Seconds")->check(CLI::Range(1.0, 3600.0));
	app.add_option("--driver", driver, "Driver");
	std::string format;
	app.add_option("--format", format, "Format")->check(CLI::IsMember({"table", "json"}));
	refuse_empty_values(app);
	std::vector<std::string> reversed(args.rbegin(), args.rend());
	try {
		app.parse(reversed);
	} catch (const CLI::ParseError &e) {
		return parse_error_text(app, e);
	}
	return "";
}

TEST(ParseErrorText, NamesTheOptionAndTheValue)
{
	EXPECT_EQ(error_for({"x", "--queues", "-1"}),
	          "--queues: '-1' is not a whole number of 0 or more");
	EXPECT_EQ(error_for({"x", "--queues", "1.5"}),
	          "--queues: '1.5' is not a whole number of 0 or more");
	EXPECT_EQ(error_for({"x", "--watch", "0.5"}), "--watch: 0.5 is not in the range 1 to 3600");
	EXPECT_EQ(error_for({}), "NAME is required");
	EXPECT_EQ(error_for({"x", "--driver", "a", "--driver", "b"}),
	          "--driver is given 2 times; it takes one value");
	EXPECT_EQ(error_for({"x", "--driver"}), "--driver needs a value");
	EXPECT_EQ(error_for({"x"}), "");
	EXPECT_EQ(error_for({"x", "--format", "bogus"}),
	          "--format: 'bogus' is not one of table, json");
}

TEST(ParseErrorText, EmptyTextIsRefused)
{
	EXPECT_EQ(error_for({"x", "--driver", ""}), "--driver: the value is empty");
	EXPECT_EQ(error_for({""}), "NAME: the value is empty");
	// CLI11 alone reads an empty number as 0.
	EXPECT_EQ(error_for({"x", "--queues", ""}), "--queues: the value is empty");
}

} // namespace
} // namespace vduse
