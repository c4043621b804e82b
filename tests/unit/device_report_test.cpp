// What show and list print about a device, and that vdusectl(8) documents
// exactly the fields the code prints.
#include "device_report.h"

#include <algorithm>
#include <fstream>
#include <gtest/gtest.h>
#include <regex>
#include <set>
#include <sstream>

using namespace vduse;

namespace
{

DeviceReport running_file_device()
{
	DeviceReport r;
	r.record.spec.name = "db";
	r.record.spec.backend = "file";
	r.record.spec.file = "/var/lib/db.img";
	r.record.spec.direct = true;
	r.record.spec.size_bytes = uint64_t{20} << 30;
	r.record.spec.queues = 4;
	r.record.spec.driver = Driver::vhost;
	r.record.unit = "vdused@db.service";
	r.record.persistent = true;
	r.bound_driver = "vhost_vdpa";
	r.node = "/dev/vhost-vdpa-0";
	r.worker.running = true;
	r.worker.pid = 42;
	r.worker.unit_state = "active (running)";
	r.worker.status_text = "serving db with 4 queue(s)";
	r.worker.restarts = 2;
	r.attached = true;
	r.state = "running";
	return r;
}

// The keys listed under DEVICE FIELDS in vdusectl(8), in order.
std::vector<std::string> documented_keys()
{
	std::ifstream in(VDUSECTL_MAN_PAGE);
	EXPECT_TRUE(in) << "cannot read " << VDUSECTL_MAN_PAGE;
	std::string line;
	std::vector<std::string> keys;
	bool in_section = false;
	std::regex key_line(R"(^\*([a-z_]+)\*$)");
	while (std::getline(in, line)) {
		if (line.rfind("# ", 0) == 0) {
			in_section = line == "# DEVICE FIELDS";
			continue;
		}
		std::smatch m;
		if (in_section && std::regex_match(line, m, key_line))
			keys.push_back(m[1]);
	}
	return keys;
}

} // namespace

TEST(DeviceRecord, JsonOfARunningDevice)
{
	nlohmann::ordered_json j = device_record(running_file_device()).to_json();
	EXPECT_EQ(j["name"], "db");
	EXPECT_EQ(j["state"], "running");
	EXPECT_EQ(j["node"], "/dev/vhost-vdpa-0");
	// driver is what the spec asks for, in the spec file's words.
	EXPECT_EQ(j["driver"], "vhost_vdpa");
	EXPECT_EQ(j["bound_driver"], "vhost_vdpa");
	EXPECT_EQ(j["pid"], 42);
	EXPECT_EQ(j["unit"], "vdused@db.service");
	EXPECT_EQ(j["unit_state"], "active (running)");
	EXPECT_EQ(j["status"], "serving db with 4 queue(s)");
	EXPECT_EQ(j["restarts"], 2);
	EXPECT_EQ(j["persistent"], true);
	EXPECT_EQ(j["file"], "/var/lib/db.img");
	EXPECT_EQ(j["mode"], "direct,rw");
	EXPECT_EQ(j["size_bytes"], uint64_t{20} << 30);
	EXPECT_EQ(j["queues"], 4);
}

TEST(DeviceRecord, ADeadDetachedNullDeviceHasNullsNotEmptyStrings)
{
	DeviceReport r;
	r.record.spec.name = "n0";
	r.record.spec.size_bytes = 1 << 20;
	r.state = "daemon-dead";
	nlohmann::ordered_json j = device_record(r).to_json();
	for (const char *key :
	     {"node", "bound_driver", "pid", "unit", "unit_state", "status", "file", "mode"})
		EXPECT_TRUE(j[key].is_null()) << key << " is " << j[key].dump();
	EXPECT_EQ(j["driver"], "virtio_vdpa");
}

TEST(DeviceRecord, TimeoutsAreNumbersInJsonWhateverTheirValue)
{
	// reconnect_timeout was 30 for one device and "forever" for another.
	DeviceReport r = running_file_device();
	r.record.spec.backend = "nbd";
	r.record.spec.reconnect_timeout_s = 0;
	r.record.spec.io_timeout_s = 30;
	Record rec = device_record(r);
	nlohmann::ordered_json j = rec.to_json();
	EXPECT_EQ(j["reconnect_timeout"], 0);
	EXPECT_EQ(j["io_timeout"], 30);
	EXPECT_EQ(rec.find("reconnect_timeout")->text, "forever");
	EXPECT_EQ(rec.find("io_timeout")->text, "30");
	r.record.spec.backend = "file";
	j = device_record(r).to_json();
	EXPECT_TRUE(j["reconnect_timeout"].is_null());
	EXPECT_TRUE(j["io_timeout"].is_null());
}

TEST(DeviceRecord, BounceInUseIsNullWithoutADaemon)
{
	// Was "kernel" for a device no vdused serves.
	DeviceReport r = running_file_device();
	r.record.spec.driver = Driver::virtio;
	EXPECT_EQ(device_record(r).to_json()["bounce_in_use"], "kernel");
	r.worker.running = false;
	EXPECT_TRUE(device_record(r).to_json()["bounce_in_use"].is_null());
}

TEST(DeviceRecord, EveryColumnIsAFieldAndEveryFieldAColumn)
{
	Record rec = device_record(running_file_device());
	std::vector<std::string> from_record;
	for (const auto &[key, field] : rec.fields())
		from_record.push_back(key);
	std::vector<std::string> from_columns;
	for (const auto &c : device_columns())
		from_columns.push_back(c.key);
	EXPECT_EQ(from_record, from_columns);
	EXPECT_TRUE(select_columns(device_columns(), list_default_columns).ok());
}

TEST(DeviceRecord, TheManPageDocumentsEveryFieldInOrder)
{
	std::vector<std::string> from_columns;
	for (const auto &c : device_columns())
		from_columns.push_back(c.key);
	EXPECT_EQ(documented_keys(), from_columns)
	        << "vdusectl(8) DEVICE FIELDS and device_columns() disagree";
}

TEST(DeviceRecord, TableShowsSizesAndFilesForPeople)
{
	auto columns = select_columns(device_columns(), "name,size_bytes,file,read_only");
	ASSERT_TRUE(columns.ok());
	EXPECT_EQ(format_table(*columns, {device_record(running_file_device())}, true),
	          "NAME  SIZE  FILE                         RO\n"
	          "db    20G   /var/lib/db.img (direct,rw)  no\n");
}

TEST(DeviceRecord, FollowsTargetSizeSaysWhatTheLastConnectionTook)
{
	DeviceReport r = running_file_device();
	r.record.spec.backend = "vhost-user";
	r.record.spec.file.clear();
	r.record.spec.socket = "/run/spdk/vhost.0";
	// No vdused has said yet: not known.
	EXPECT_TRUE(device_record(r).to_json()["follows_target_size"].is_null());
	r.link = LinkStatus{LinkState::connected, 0, {}, true};
	Record rec = device_record(r);
	EXPECT_EQ(rec.to_json()["follows_target_size"], true);
	EXPECT_EQ(rec.find("follows_target_size")->text, "yes");
	r.link->follows_target_size = false;
	EXPECT_EQ(device_record(r).to_json()["follows_target_size"], false);
	// Another backend never has it, whatever its link file says.
	r.record.spec.backend = "nbd";
	EXPECT_TRUE(device_record(r).to_json()["follows_target_size"].is_null());
}
