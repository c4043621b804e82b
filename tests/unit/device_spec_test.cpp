#include "state/device_spec.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace vduse;

namespace
{
DeviceSpec good_spec()
{
	DeviceSpec s;
	s.name = "vduse0";
	s.size_bytes = 1 << 30;
	s.queues = 2;
	s.queue_depth = 128;
	return s;
}

void expect_invalid(const DeviceSpec &s, const std::string &needle)
{
	auto st = validate_spec(s);
	ASSERT_FALSE(st.ok()) << "expected: " << needle;
	EXPECT_NE(st.error().message.find(needle), std::string::npos) << st.error().message;
}
} // namespace

TEST(ValidateName, AcceptsOrdinaryNames)
{
	EXPECT_TRUE(validate_name("vduse0").ok());
	EXPECT_TRUE(validate_name("db-data_1.vol:a").ok());
}

TEST(ValidateName, RefusesBadNames)
{
	EXPECT_FALSE(validate_name("").ok());
	EXPECT_FALSE(validate_name("a/b").ok());
	EXPECT_FALSE(validate_name("..").ok());
	EXPECT_FALSE(validate_name("has space").ok());
	EXPECT_FALSE(validate_name(std::string(limits::name_max + 1, 'x')).ok());
	EXPECT_TRUE(validate_name(std::string(limits::name_max, 'x')).ok());
}

TEST(ValidateSpec, GoodSpecPasses)
{
	EXPECT_TRUE(validate_spec(good_spec()).ok());
}

TEST(ValidateSpec, NamesTheBadValue)
{
	auto s = good_spec();
	s.size_bytes = 0;
	expect_invalid(s, "size must not be 0");
	s = good_spec();
	s.size_bytes = 4097;
	s.block_size = 4096;
	expect_invalid(s, "size 4097 is not a multiple of the block size 4096");
	s = good_spec();
	s.queues = 0;
	expect_invalid(s, "queue count 0 is out of range");
	s.queues = limits::queues_max + 1;
	expect_invalid(s, "queue count 257");
	s = good_spec();
	s.queue_depth = 100;
	expect_invalid(s, "queue depth 100 is not a power of two");
	s.queue_depth = 65536;
	expect_invalid(s, "queue depth 65536 is out of range");
	s = good_spec();
	s.block_size = 1024;
	expect_invalid(s, "block size 1024");
	s = good_spec();
	s.serial = std::string(21, 'x');
	expect_invalid(s, "longer than 20");
	s = good_spec();
	s.backend = "tape";
	expect_invalid(s, "unknown backend 'tape'");
	s = good_spec();
	s.backend = "file";
	expect_invalid(s, "needs --file PATH");
	s.file = "relative.img";
	expect_invalid(s, "is not an absolute path");
	s = good_spec();
	s.file = "/x.img";
	expect_invalid(s, "null backend takes no --file");
}

TEST(SpecJson, RoundTrips)
{
	auto s = good_spec();
	s.serial = "SN42";
	s.driver = Driver::vhost;
	s.read_only = true;
	auto back = spec_from_json(spec_to_json(s));
	ASSERT_TRUE(back.ok()) << back.error().message;
	EXPECT_EQ(spec_to_json(*back), spec_to_json(s));
}

TEST(SpecJson, RefusesMalformedOrInvalid)
{
	EXPECT_FALSE(spec_from_json(nlohmann::json::parse(R"({"name": "x"})")).ok());
	auto j = spec_to_json(good_spec());
	j["queue_depth"] = 3;
	EXPECT_FALSE(spec_from_json(j).ok());
	j = spec_to_json(good_spec());
	j["size_bytes"] = "big";
	EXPECT_FALSE(spec_from_json(j).ok());
}

TEST(SpecJson, RefusesNumbersThatAreNotWholeOrDoNotFit)
{
	// A float out of range used to be cast (undefined behaviour; found by
	// tests/fuzz/fuzz_spec_file), a negative one wrapped around.
	for (const char *key : {"size_bytes", "queues", "queue_depth", "block_size"}) {
		for (nlohmann::json bad :
		     {nlohmann::json(1e30), nlohmann::json(-4), nlohmann::json(4.5),
		      nlohmann::json(uint64_t{1} << 40)}) {
			if (std::string(key) == "size_bytes" && bad.is_number_unsigned())
				continue; // 1 TiB is a fine size
			auto j = spec_to_json(good_spec());
			j[key] = bad;
			auto r = spec_from_json(j);
			ASSERT_FALSE(r.ok()) << key << " = " << bad.dump();
			EXPECT_NE(r.error().message.find(key), std::string::npos)
			        << r.error().message;
		}
	}
}
