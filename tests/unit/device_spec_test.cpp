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
	EXPECT_FALSE(validate_name("control").ok());
	EXPECT_FALSE(validate_name("-n").ok());
	EXPECT_TRUE(validate_name("a-").ok());
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

// The error of spec_from_json(j), or "" if it was taken.
std::string spec_error(const nlohmann::json &j)
{
	auto r = spec_from_json(j);
	return r.ok() ? std::string() : r.error().message;
}

TEST(SpecJson, AnUnknownKeyIsRefusedWithTheNearestKnownOne)
{
	// Was silently ignored: a typo left the device without direct I/O.
	auto j = spec_to_json(good_spec());
	j["drect"] = true;
	EXPECT_EQ(spec_error(j),
	          "malformed device spec: a device spec has an unknown key \"drect\" (did you "
	          "mean \"direct\"?)");
	j = spec_to_json(good_spec());
	j["colour"] = "blue";
	EXPECT_EQ(spec_error(j),
	          "malformed device spec: a device spec has an unknown key \"colour\"");
}

TEST(SpecJson, ATypeErrorNamesTheKeyAndTheType)
{
	// Was the JSON library's "[json.exception.type_error.302] type must be
	// string, but is number", without the key.
	auto j = spec_to_json(good_spec());
	j["file"] = 12;
	EXPECT_EQ(spec_error(j),
	          "malformed device spec: \"file\" must be a string, not the number 12");
	j = spec_to_json(good_spec());
	j["read_only"] = "yes";
	EXPECT_EQ(spec_error(j), "malformed device spec: \"read_only\" must be true or false, not "
	                         "the string \"yes\"");
	j = spec_to_json(good_spec());
	j.erase("backend");
	EXPECT_EQ(spec_error(j), "malformed device spec: a device spec lacks the key \"backend\"");
	j = spec_to_json(good_spec());
	j["queues"] = -1;
	EXPECT_EQ(spec_error(j),
	          "malformed device spec: \"queues\" must be a whole number from 0 to "
	          "4294967295, not the number -1");
}

TEST(SpecJson, ASpecThatIsNotAnObjectSaysSo)
{
	// Was "cannot use at() with array".
	EXPECT_EQ(
	        spec_error(nlohmann::json::array()),
	        "malformed device spec: a device spec must be a JSON object ({...}), not an array");
	EXPECT_EQ(spec_error(nlohmann::json("vduse0")),
	          "malformed device spec: a device spec must be a JSON object ({...}), not the "
	          "string \"vduse0\"");
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

namespace
{
DeviceSpec nbd_spec(const std::string &url)
{
	DeviceSpec s = good_spec();
	s.backend = "nbd";
	s.url = url;
	return s;
}

DeviceSpec rbd_spec(const std::string &image)
{
	DeviceSpec s = good_spec();
	s.backend = "rbd";
	s.rbd_image = image;
	return s;
}
} // namespace

TEST(ValidateSpec, NbdNeedsAnNbdUri)
{
	EXPECT_TRUE(validate_spec(nbd_spec("nbd://10.0.0.1:10809/disk")).ok());
	EXPECT_TRUE(validate_spec(nbd_spec("nbd+unix:///disk?socket=/run/nbd.sock")).ok());
	EXPECT_TRUE(validate_spec(nbd_spec("nbds://host/disk?tls-psk-file=/etc/k")).ok());
	expect_invalid(nbd_spec(""), "needs --url URI");
	expect_invalid(nbd_spec("http://host/disk"), "'http://host/disk' is not an NBD URI");
	expect_invalid(nbd_spec("nbd://host/\ndisk"), "control character");
	auto with_file = nbd_spec("nbd://h/");
	with_file.file = "/x";
	expect_invalid(with_file, "takes no --file");
}

TEST(ValidateSpec, RbdNeedsPoolAndImage)
{
	EXPECT_TRUE(validate_spec(rbd_spec("rbd/img0")).ok());
	expect_invalid(rbd_spec(""), "needs --image POOL/IMAGE");
	for (const char *bad : {"img0", "/img0", "rbd/", "rbd/a/b", "rbd/img@snap"})
		expect_invalid(rbd_spec(bad), "is not POOL/IMAGE");
	auto snap = rbd_spec("rbd/img0");
	snap.rbd_snap = "s1";
	expect_invalid(snap, "can only be mapped read-only");
	snap.read_only = true;
	EXPECT_TRUE(validate_spec(snap).ok());
	auto keyring = rbd_spec("rbd/img0");
	keyring.keyring = "keys";
	expect_invalid(keyring, "'keys' is not an absolute path");
}

TEST(ValidateSpec, NetworkOptionsBelongToTheirBackend)
{
	auto s = good_spec();
	s.url = "nbd://h/";
	expect_invalid(s, "--url is for the nbd backend");
	s = good_spec();
	s.ceph_conf = "/etc/ceph/ceph.conf";
	expect_invalid(s, "are for the rbd backend");
	s = good_spec();
	s.reconnect_timeout_s = 5;
	expect_invalid(s, "--reconnect-timeout is for the nbd and rbd backends");
	s = rbd_spec("rbd/img0");
	s.io_timeout_s = 5;
	expect_invalid(s, "--io-timeout is for the nbd backend");
}

TEST(SpecJson, SocketOwnerRoundTripsAndBelongsToUnixSockets)
{
	auto s = good_spec();
	s.backend = "nbd";
	s.url = "nbd+unix:///?socket=/run/n.sock";
	s.socket_owner_uid = 65534;
	EXPECT_TRUE(validate_spec(s).ok());
	auto back = spec_from_json(spec_to_json(s));
	ASSERT_TRUE(back.ok()) << back.error().message;
	EXPECT_EQ(back->socket_owner_uid, 65534u);
	auto json = spec_to_json(s);
	json.erase("socket_owner_uid");
	EXPECT_FALSE(spec_from_json(json)->socket_owner_uid);
	s.url = "nbd://host/";
	expect_invalid(s,
	               "--socket-owner is for the vhost-user backend and nbd over a unix socket");
}

TEST(SpecJson, AnNbdRecordWithoutAnIoTimeoutGetsTheDefault)
{
	auto s = good_spec();
	s.backend = "nbd";
	s.url = "nbd://h/";
	s.io_timeout_s = 7;
	auto json = spec_to_json(s);
	EXPECT_EQ(spec_from_json(json)->io_timeout_s, 7u);
	json.erase("io_timeout_s");
	EXPECT_EQ(spec_from_json(json)->io_timeout_s, nbd_default_io_timeout_s);
	EXPECT_EQ(spec_from_json(spec_to_json(good_spec()))->io_timeout_s, 0u);
}

TEST(SpecJson, NetworkFieldsRoundTripAndOldRecordsRead)
{
	auto s = rbd_spec("rbd/img0");
	s.rbd_namespace = "ns";
	s.rbd_user = "vduse";
	s.keyring = "/etc/ceph/k";
	s.reconnect_timeout_s = 30;
	s.discard = false;
	auto back = spec_from_json(spec_to_json(s));
	ASSERT_TRUE(back.ok()) << back.error().message;
	EXPECT_EQ(spec_to_json(*back), spec_to_json(s));
	EXPECT_EQ(spec_source(*back), "rbd:rbd/ns/img0");
	// A record written before the network backends: everything offered.
	auto old = spec_to_json(good_spec());
	for (const char *key : {"flush", "discard", "write_zeroes", "url", "rbd_image",
	                        "reconnect_timeout_s", "nbd_multi_conn"})
		old.erase(key);
	auto read = spec_from_json(old);
	ASSERT_TRUE(read.ok()) << read.error().message;
	EXPECT_TRUE(read->flush && read->discard && read->write_zeroes);
	EXPECT_EQ(read->reconnect_timeout_s, 0u);
}

TEST(ValidateSpec, VhostUserNeedsAnAbsoluteSocketAndADepthTargetsTake)
{
	auto s = good_spec();
	s.backend = "vhost-user";
	expect_invalid(s, "needs --socket PATH");
	s.socket = "vhost.sock";
	expect_invalid(s, "is not an absolute path");
	s.socket = "/run/vhost.sock";
	EXPECT_TRUE(validate_spec(s).ok());
	s.queue_depth = 2048;
	expect_invalid(s, "more than a vhost-user target takes (1024)");
	s = good_spec();
	s.socket = "/run/vhost.sock";
	expect_invalid(s, "--socket is for the vhost-user backend");
}

TEST(SpecJson, VhostUserFieldsRoundTrip)
{
	auto s = good_spec();
	s.backend = "vhost-user";
	s.socket = "/run/vhu/disk.sock";
	s.vhost_user_features = (uint64_t{1} << 32) | (uint64_t{1} << 9);
	s.discard_segments = 1;
	s.discard_sectors = 32768;
	s.write_zeroes_segments = 1;
	s.write_zeroes_sectors = 65536;
	s.seg_max = 126;
	s.size_max = 65536;
	auto back = spec_from_json(spec_to_json(s));
	ASSERT_TRUE(back.ok()) << back.error().message;
	EXPECT_EQ(spec_to_json(*back), spec_to_json(s));
	EXPECT_EQ(spec_source(*back), "vhost-user:/run/vhu/disk.sock");
	EXPECT_TRUE(is_remote_backend(*back));
	EXPECT_FALSE(is_network_backend(*back));
	BlkGeometry g = blk_geometry(*back);
	EXPECT_EQ(g.max_segments(false), 1u);
	EXPECT_EQ(g.max_sectors(false), 32768u);
	EXPECT_EQ(g.max_sectors(true), 65536u);
	EXPECT_EQ(g.data_segments(), 126u);
	EXPECT_EQ(g.segment_bytes(), 65536u);
	// 0 and limits above vdused's own give vdused's.
	g.discard_sectors = 0;
	g.write_zeroes_segments = 1000;
	EXPECT_EQ(g.max_sectors(false), blk_max_discard_sectors);
	EXPECT_EQ(g.max_segments(true), blk_max_discard_seg);
}

TEST(ValidateSpec, BounceSizeAndMemory)
{
	auto s = good_spec();
	s.bounce_size = 32 << 20;
	s.bounce_memory = "hugepage";
	EXPECT_TRUE(validate_spec(s).ok());
	EXPECT_EQ(effective_bounce_size(s), uint64_t{32} << 20);
	EXPECT_EQ(effective_bounce_size(good_spec()), limits::bounce_size_default);
	s.bounce_size = 512 << 10;
	expect_invalid(s, "bounce size 524288 is not a multiple of 4 KiB from 1 MiB to 1 GiB");
	s.bounce_size = (uint64_t{1} << 30) + 4096;
	expect_invalid(s, "from 1 MiB to 1 GiB");
	s.bounce_size = (1 << 20) + 1;
	s.bounce_memory = "default";
	expect_invalid(s, "not a multiple of 4 KiB");
	// Huge pages come 2 MiB at a time; shmem takes any page multiple.
	s.bounce_size = 3 << 20;
	EXPECT_TRUE(validate_spec(s).ok());
	s.bounce_memory = "hugepage";
	expect_invalid(s, "not a multiple of the 2 MiB huge page size");
	s.bounce_memory = "auto";
	expect_invalid(s, "not a multiple of the 2 MiB huge page size");
	s.bounce_memory = "shmem";
	EXPECT_TRUE(validate_spec(s).ok());
	s.bounce_memory = "gold";
	expect_invalid(s, "bounce memory 'gold' is not default, hugepage, shmem or auto");
	// A VM's I/O is in its own memory.
	s = good_spec();
	s.driver = Driver::vhost;
	s.bounce_memory = "shmem";
	expect_invalid(s, "are for the virtio driver");
	s.bounce_memory = "default";
	s.bounce_size = 8 << 20;
	expect_invalid(s, "are for the virtio driver");
}

TEST(SpecJson, BounceFieldsRoundTripAndOldRecordsRead)
{
	auto s = good_spec();
	s.bounce_size = 128 << 20;
	s.bounce_memory = "auto";
	auto back = spec_from_json(spec_to_json(s));
	ASSERT_TRUE(back.ok()) << back.error().message;
	EXPECT_EQ(back->bounce_size, s.bounce_size);
	EXPECT_EQ(back->bounce_memory, "auto");
	auto old = spec_to_json(good_spec());
	old.erase("bounce_size");
	old.erase("bounce_memory");
	back = spec_from_json(old);
	ASSERT_TRUE(back.ok()) << back.error().message;
	EXPECT_EQ(back->bounce_size, 0U);
	EXPECT_EQ(back->bounce_memory, "default");
	auto bad = spec_to_json(s);
	bad["bounce_memory"] = "lots";
	EXPECT_FALSE(spec_from_json(bad).ok());
}
