// The runtime drop-in vdusectl writes for vdused@NAME.service.
#include "unit_dropin.h"

#include <algorithm>
#include <gtest/gtest.h>

using namespace vduse;

namespace
{

DropinInputs installed()
{
	return {"/usr/sbin/vdused", "/usr/sbin/vdused", "/run/vduse", "/run/vduse", false};
}

DeviceSpec file_spec(const std::string &path)
{
	DeviceSpec spec;
	spec.name = "d0";
	spec.backend = "file";
	spec.file = path;
	spec.size_bytes = 1 << 20;
	return spec;
}

// The lines of TEXT that set something in SECTION (not comments).
std::vector<std::string> settings(const std::string &text, const std::string &section = "Service")
{
	std::vector<std::string> lines;
	std::string current;
	size_t start = 0;
	while (start < text.size()) {
		size_t end = text.find('\n', start);
		std::string line = text.substr(start, end - start);
		if (!line.empty() && line[0] == '[')
			current = line.substr(1, line.size() - 2);
		else if (!line.empty() && line[0] != '#' && current == section)
			lines.push_back(line);
		start = end == std::string::npos ? text.size() : end + 1;
	}
	return lines;
}

} // namespace

TEST(UnitDropin, NullDeviceWithInstalledPathsNeedsOnlyTheOrdering)
{
	DeviceSpec spec;
	spec.name = "d0";
	auto text = unit_dropin_text(spec, installed());
	ASSERT_TRUE(text.ok());
	EXPECT_EQ(settings(*text, "Unit"),
	          std::vector<std::string>{"Before=local-fs-pre.target lvm2-monitor.service"});
	EXPECT_EQ(text->find("[Service]"), std::string::npos) << *text;
}

// Mounts of the device stop before its daemon at shutdown: local ones
// through local-fs-pre.target, remote (_netdev) ones through
// remote-fs-pre.target, since a network backend comes after the network.
TEST(UnitDropin, DaemonsComeBeforeTheFileSystemsOnTheirDevices)
{
	EXPECT_EQ(settings(*unit_dropin_text(file_spec("/srv/a.img"), installed()), "Unit"),
	          std::vector<std::string>{"Before=local-fs-pre.target lvm2-monitor.service"});
	DeviceSpec spec;
	spec.name = "n0";
	spec.backend = "nbd";
	spec.url = "nbd://server/disk";
	EXPECT_EQ(settings(*unit_dropin_text(spec, installed()), "Unit"),
	          (std::vector<std::string>{"Before=remote-fs-pre.target",
	                                    "After=network-online.target",
	                                    "Wants=network-online.target"}));
	spec.backend = "vhost-user";
	spec.socket = "/run/vhu/a.sock";
	EXPECT_EQ(settings(*unit_dropin_text(spec, installed()), "Unit"),
	          std::vector<std::string>{"Before=local-fs-pre.target lvm2-monitor.service"});
}

TEST(UnitDropin, WritableImageIsTheOnlyWritablePath)
{
	auto text = unit_dropin_text(file_spec("/var/lib/img/a.img"), installed());
	ASSERT_TRUE(text.ok());
	EXPECT_EQ(settings(*text),
	          std::vector<std::string>{"ReadWritePaths=\"/var/lib/img/a.img\""});
	EXPECT_NE(text->find("[Service]\n"), std::string::npos);
}

TEST(UnitDropin, ReadOnlyImageNeedsNoWritablePath)
{
	DeviceSpec spec = file_spec("/var/lib/img/a.img");
	spec.read_only = true;
	auto text = unit_dropin_text(spec, installed());
	ASSERT_TRUE(text.ok());
	EXPECT_TRUE(settings(*text).empty()) << *text;
}

TEST(UnitDropin, SpacesQuotesPercentAndBackslashesStayOneWord)
{
	auto text = unit_dropin_text(file_spec("/srv/my images/\"q\" 100%\\x.img"), installed());
	ASSERT_TRUE(text.ok());
	EXPECT_EQ(
	        settings(*text),
	        std::vector<std::string>{R"(ReadWritePaths="/srv/my images/\"q\" 100%%\\x.img")"});
}

TEST(UnitDropin, HomeDirectoriesAreOpenedOnlyForAnImageThere)
{
	auto text = unit_dropin_text(file_spec("/home/ann/disk.img"), installed());
	ASSERT_TRUE(text.ok());
	EXPECT_EQ(settings(*text),
	          (std::vector<std::string>{"ProtectHome=no",
	                                    "ReadWritePaths=\"/home/ann/disk.img\""}));
}

TEST(UnitDropin, ANewlineNeverInjectsALine)
{
	for (const std::string &path : {std::string("/srv/a.img\nExecStartPre=/bin/rm -rf /"),
	                                std::string("/srv/a\r.img"), std::string("/srv/\t.img")}) {
		auto text = unit_dropin_text(file_spec(path), installed());
		ASSERT_FALSE(text.ok()) << *text;
		EXPECT_NE(text.error().message.find("control character"), std::string::npos);
		EXPECT_EQ(text.error().message.find('\n'), std::string::npos)
		        << "the error itself must be one line";
	}
	DropinInputs in = installed();
	in.vdused = "/opt/vdused\nUser=root";
	EXPECT_FALSE(unit_dropin_text(file_spec("/srv/a.img"), in).ok());
	in = installed();
	in.state_dir = "/tmp/state\n[Install]";
	EXPECT_FALSE(unit_dropin_text(file_spec("/srv/a.img"), in).ok());
}

TEST(UnitDropin, AnotherVdusedOrStateDirectoryIsRunAndAllowed)
{
	DropinInputs in = installed();
	in.vdused = "/work/build/vdused dir/vdused";
	in.state_dir = "/tmp/state";
	in.verbose = true;
	DeviceSpec spec;
	spec.name = "d0";
	auto text = unit_dropin_text(spec, in);
	ASSERT_TRUE(text.ok());
	EXPECT_EQ(settings(*text),
	          (std::vector<std::string>{
	                  "Environment=VDUSE_STATE_DIR=\"/tmp/state\"",
	                  "ReadWritePaths=\"/tmp/state\"", "ExecStart=",
	                  "ExecStart=\"/work/build/vdused dir/vdused\" %i --verbose"}));
}

TEST(UnitDropin, NbdOverAUnixSocketGetsNoNetwork)
{
	DeviceSpec spec;
	spec.name = "n0";
	spec.backend = "nbd";
	spec.url = "nbd+unix:///disk?socket=/tmp/nbd.sock";
	auto text = unit_dropin_text(spec, installed());
	ASSERT_TRUE(text.ok());
	EXPECT_EQ(settings(*text),
	          (std::vector<std::string>{"RestrictAddressFamilies=AF_UNIX", "PrivateTmp=no"}));
	EXPECT_EQ(settings(*text, "Unit"), std::vector<std::string>{"Before=remote-fs-pre.target"});
}

TEST(UnitDropin, NbdOverTcpAndRbdGetIpAfterTheNetwork)
{
	DeviceSpec spec;
	spec.name = "r0";
	spec.backend = "rbd";
	spec.rbd_image = "rbd/img0";
	spec.keyring = "/root/ceph.keyring";
	auto text = unit_dropin_text(spec, installed());
	ASSERT_TRUE(text.ok());
	EXPECT_EQ(settings(*text, "Unit"),
	          (std::vector<std::string>{"Before=remote-fs-pre.target",
	                                    "After=network-online.target",
	                                    "Wants=network-online.target"}));
	auto s = settings(*text);
	for (const char *want :
	     {"PrivateNetwork=no", "IPAddressDeny=",
	      "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "ProtectHome=read-only"})
		EXPECT_NE(std::find(s.begin(), s.end(), want), s.end()) << want << " in " << *text;
	spec.keyring = "/etc/ceph/k\nExecStartPre=/bin/evil";
	EXPECT_FALSE(unit_dropin_text(spec, installed()).ok());
}

TEST(UnitDropin, OwnBounceMemoryMayBeLockedAndOnlyThen)
{
	auto spec = file_spec("/var/lib/img/a.img");
	spec.bounce_memory = "hugepage";
	auto text = unit_dropin_text(spec, installed());
	ASSERT_TRUE(text.ok());
	EXPECT_EQ(settings(*text),
	          (std::vector<std::string>{"ReadWritePaths=\"/var/lib/img/a.img\"",
	                                    "LimitMEMLOCK=infinity"}));
	spec.bounce_memory = "default";
	spec.bounce_size = 128 << 20;
	text = unit_dropin_text(spec, installed());
	ASSERT_TRUE(text.ok());
	EXPECT_EQ(text->find("LimitMEMLOCK"), std::string::npos);
}
