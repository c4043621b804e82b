// The output model: tables, the vertical view, JSON modes, column selection.
#include "output.h"

#include <gtest/gtest.h>

using namespace vduse;

namespace
{

const std::vector<Column> columns = {{"name", "NAME"}, {"size", "SIZE"}, {"ro", "RO"}};

std::vector<Record> two_records()
{
	Record a;
	a.set("name", "a");
	a.set("size", 1024, "1K");
	a.set("ro", false);
	Record b;
	b.set("name", "longer-name");
	b.set("size", nullptr);
	b.set("ro", true);
	return {a, b};
}

} // namespace

TEST(Output, TableAlignsColumnsWithTwoSpaces)
{
	EXPECT_EQ(format_table(columns, two_records(), true), "NAME         SIZE  RO\n"
	                                                      "a            1K    no\n"
	                                                      "longer-name  -     yes\n");
}

TEST(Output, TableWithoutLegendHasOnlyRows)
{
	std::string text = format_table(columns, two_records(), false);
	EXPECT_EQ(text.find("NAME"), std::string::npos);
	EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
}

TEST(Output, EmptyTableStillHasItsLegend)
{
	EXPECT_EQ(format_table(columns, {}, true), "NAME  SIZE  RO\n");
	EXPECT_EQ(format_table(columns, {}, false), "");
}

TEST(Output, LongValuesAreNeverCut)
{
	Record r;
	std::string path(300, 'x');
	r.set("name", path);
	std::string text = format_table(columns, {r}, false);
	EXPECT_NE(text.find(path), std::string::npos);
}

TEST(Output, VerticalViewIsForPeopleAndLeavesOutWhatDoesNotApply)
{
	auto records = two_records();
	EXPECT_EQ(format_vertical(columns, records[0]), "name: a\nsize: 1K\nro: no\n");
	EXPECT_EQ(format_vertical(columns, records[1]), "name: longer-name\nro: yes\n");
	Record sized;
	sized.set("size_bytes", 1610612736, "1.5G");
	sized.set("block_size", 512);
	EXPECT_EQ(format_vertical({{"size_bytes", "SIZE"}, {"block_size", "BLOCK"}}, sized),
	          "size: 1.5G\nblock_size: 512\n");
}

TEST(Output, JsonKeepsTheFieldOrder)
{
	auto records = two_records();
	EXPECT_EQ(format_json(records[0].to_json(), JsonMode::short_form),
	          "{\"name\":\"a\",\"size\":1024,\"ro\":false}\n");
	EXPECT_EQ(format_json(records[1].to_json(), JsonMode::pretty),
	          "{\n  \"name\": \"longer-name\",\n  \"size\": null,\n  \"ro\": true\n}\n");
}

TEST(Output, JsonModes)
{
	EXPECT_EQ(*parse_json_mode("", true), JsonMode::pretty);
	EXPECT_EQ(*parse_json_mode("", false), JsonMode::short_form);
	EXPECT_EQ(*parse_json_mode("true", false), JsonMode::short_form);
	EXPECT_EQ(*parse_json_mode("pretty", false), JsonMode::pretty);
	EXPECT_EQ(*parse_json_mode("short", true), JsonMode::short_form);
	EXPECT_EQ(*parse_json_mode("off", true), JsonMode::off);
	auto bad = parse_json_mode("yaml", true);
	ASSERT_FALSE(bad.ok());
	EXPECT_TRUE(bad.error().is_usage());
	EXPECT_NE(bad.error().message.find("'yaml'"), std::string::npos);
}

TEST(Output, ColumnsByKeyOrHeaderInAnyCase)
{
	auto picked = select_columns(columns, "RO,Name");
	ASSERT_TRUE(picked.ok());
	ASSERT_EQ(picked->size(), 2u);
	EXPECT_EQ((*picked)[0].key, "ro");
	EXPECT_EQ((*picked)[1].key, "name");
	auto bad = select_columns(columns, "name,colour");
	ASSERT_FALSE(bad.ok());
	EXPECT_TRUE(bad.error().is_usage());
	EXPECT_NE(bad.error().message.find("unknown column 'colour' (known: name, size, ro)"),
	          std::string::npos);
	EXPECT_FALSE(select_columns(columns, "name,").ok());
}

TEST(Output, SettingAFieldTwiceReplacesIt)
{
	Record r;
	r.set("a", 1);
	r.set("b", 2);
	r.set("a", 3);
	EXPECT_EQ(r.to_json().dump(), R"({"a":3,"b":2})");
}

TEST(Output, ControlCharactersAreShownEscapedInShowAsInList)
{
	// show printed a record's escape sequence raw to the terminal.
	Record r;
	r.set("name", "evil\x1b[2Jname\\x");
	r.set("size", 1);
	r.set("ro", false);
	std::string vertical = format_vertical(columns, r);
	EXPECT_EQ(vertical.find('\x1b'), std::string::npos);
	EXPECT_NE(vertical.find("name: evil\\x1b[2Jname\\x5cx\n"), std::string::npos) << vertical;
	// list's table (libsmartcols) shows it the same way.
	std::string table = format_table(columns, {r}, false);
	EXPECT_NE(table.find("evil\\x1b[2Jname\\x5cx"), std::string::npos) << table;
	EXPECT_EQ(terminal_safe("plain /path ok"), "plain /path ok");
}

TEST(Output, JsonOfChosenColumnsHasOnlyThoseInTheirOrder)
{
	// list --json -o name printed every field.
	auto json = records_to_json(two_records(), {{"ro", "RO"}, {"name", "NAME"}});
	EXPECT_EQ(json.dump(), R"([{"ro":false,"name":"a"},{"ro":true,"name":"longer-name"}])");
}
