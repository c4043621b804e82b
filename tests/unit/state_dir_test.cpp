// The record reader: one broken record in the state directory (truncated,
// wrongly typed, misnamed, or a directory, FIFO or dangling link in its
// place) reads as an error naming the file and the cause, never hangs or
// throws, and leaves the good records readable.
#include "state/state_dir.h"

#include "state/link_status.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace vduse;
namespace fs = std::filesystem;

namespace
{

class StateDirTest : public ::testing::Test
{
protected:
	void SetUp() override
	{
		std::string tmpl = (fs::temp_directory_path() / "vduse-state-XXXXXX").string();
		ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
		root_ = tmpl;
	}
	void TearDown() override { fs::remove_all(root_); }

	void put(const std::string &file, const std::string &text) const
	{
		std::ofstream(root_ / file) << text;
	}
	DeviceRecord good(const std::string &name) const
	{
		DeviceRecord r;
		r.spec.name = name;
		r.spec.size_bytes = 1 << 20;
		r.pid = 42;
		r.unit = "vdused@" + name + ".service";
		return r;
	}
	// The pid the lock file names.
	pid_t lock_holder() const
	{
		std::ifstream in(root_ / "lock");
		pid_t pid = 0;
		in >> pid;
		return pid;
	}
	std::string error_of(const std::string &name) const
	{
		auto r = StateDir(root_).read(name);
		EXPECT_FALSE(r) << name << " read as a good record";
		return r ? std::string() : r.error().message;
	}

	fs::path root_;
};

TEST_F(StateDirTest, WrittenRecordReadsBack)
{
	StateDir state(root_);
	ASSERT_TRUE(state.write(good("a")).ok());
	auto r = state.read("a");
	ASSERT_TRUE(r) << r.error().message;
	EXPECT_EQ(r->spec.size_bytes, 1u << 20);
	EXPECT_EQ(r->pid, 42);
	EXPECT_EQ(r->unit, "vdused@a.service");
	EXPECT_EQ(state.names(), std::vector<std::string>{"a"});
}

TEST_F(StateDirTest, MissingRecordIsENOENT)
{
	auto r = StateDir(root_).read("nothere");
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, ENOENT);
	EXPECT_NE(r.error().message.find("does not exist"), std::string::npos);
}

TEST_F(StateDirTest, BrokenRecordsNameTheFileAndTheCause)
{
	StateDir state(root_);
	ASSERT_TRUE(state.write(good("ok")).ok());
	std::ifstream in(state.record_path("ok"));
	std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

	put("trunc.json", text.substr(0, text.size() / 2));
	put("empty.json", "");
	put("array.json", "[1, 2]");
	put("nospec.json", "{\"pid\": 1}");
	std::string typed = text;
	typed.replace(typed.find("\"pid\": 42"), 9, "\"pid\": \"x\"");
	put("typed.json", typed.replace(typed.find("\"ok\""), 4, "\"typed\""));
	std::string negative = text;
	negative.replace(negative.find("\"pid\": 42"), 9, "\"pid\": -5");
	put("negative.json", negative.replace(negative.find("\"ok\""), 4, "\"negative\""));
	put("misnamed.json", text);
	fs::create_directory(root_ / "dir.json");
	ASSERT_EQ(::mkfifo((root_ / "fifo.json").c_str(), 0600), 0);
	fs::create_symlink(root_ / "nowhere", root_ / "dangling.json");

	EXPECT_NE(error_of("trunc").find("trunc.json is not valid JSON"), std::string::npos);
	EXPECT_NE(error_of("empty").find("empty.json is empty"), std::string::npos);
	EXPECT_NE(error_of("array").find("not a device record"), std::string::npos);
	EXPECT_NE(error_of("nospec").find("not a device record"), std::string::npos);
	EXPECT_NE(error_of("typed").find("typed.json: malformed device record"), std::string::npos);
	EXPECT_NE(error_of("negative").find("out of range"), std::string::npos);
	EXPECT_NE(error_of("misnamed").find("names device 'ok'"), std::string::npos);
	EXPECT_NE(error_of("dir").find("dir.json is a directory"), std::string::npos);
	EXPECT_NE(error_of("fifo").find("fifo.json is a FIFO"), std::string::npos);
	EXPECT_NE(error_of("dangling").find("dangling.json is a dangling symbolic link"),
	          std::string::npos);

	// Every one is listed, and the good one still reads.
	EXPECT_EQ(state.names().size(), 11u);
	EXPECT_TRUE(state.read("ok"));
}

TEST_F(StateDirTest, RemoveTakesADirectoryInARecordsPlace)
{
	StateDir state(root_);
	fs::create_directories(root_ / "d.json" / "inner");
	state.remove("d");
	EXPECT_FALSE(fs::exists(root_ / "d.json"));
}

TEST_F(StateDirTest, LockRecordsItsHolder)
{
	StateDir state(root_);
	auto lock = state.lock();
	ASSERT_TRUE(lock) << lock.error().message;
	EXPECT_EQ(lock_holder(), ::getpid());
}

// vdused takes the lock only when it is free: a vdusectl may hold it while
// it waits for vdused. flock() locks of two open files conflict within one
// process too.
TEST_F(StateDirTest, TryLockTakesOnlyAFreeLock)
{
	StateDir state(root_);
	{
		auto held = state.lock();
		ASSERT_TRUE(held) << held.error().message;
		auto busy = state.try_lock();
		ASSERT_FALSE(busy);
		EXPECT_EQ(busy.error().code, EWOULDBLOCK);
	}
	auto free = state.try_lock();
	ASSERT_TRUE(free) << free.error().message;
	EXPECT_EQ(lock_holder(), ::getpid());
}

// A record written again (vdused following a vhost-user target's size,
// under systemd's UMask=0077) keeps the mode vdusectl gave it: list and
// show do not need root.
TEST_F(StateDirTest, ARecordWrittenAgainKeepsItsMode)
{
	StateDir state(root_);
	DeviceRecord record = good("d0");
	ASSERT_TRUE(state.write(record));
	ASSERT_EQ(::chmod((root_ / "d0.json").c_str(), 0644), 0);
	mode_t old_mask = ::umask(077);
	record.spec.size_bytes *= 2;
	Status written = state.write(record);
	::umask(old_mask);
	ASSERT_TRUE(written) << written.error().message;
	struct stat st {
	};
	ASSERT_EQ(::stat((root_ / "d0.json").c_str(), &st), 0);
	EXPECT_EQ(st.st_mode & 07777, 0644u);
	auto back = state.read("d0");
	ASSERT_TRUE(back) << back.error().message;
	EXPECT_EQ(back->spec.size_bytes, record.spec.size_bytes);
}

} // namespace

TEST_F(StateDirTest, LinkStatusReadsBackWithOrWithoutFollowsTargetSize)
{
	fs::path file = root_ / "vu0.link";
	ASSERT_TRUE(write_link_status(file, {LinkState::connected, 7, {}, false}).ok());
	auto r = read_link_status(file);
	ASSERT_TRUE(r) << r.error().message;
	EXPECT_EQ(r->state, LinkState::connected);
	EXPECT_EQ(r->since, 7);
	EXPECT_EQ(r->follows_target_size, false);
	// An nbd device's file (and one an older vdused wrote) has no such key.
	ASSERT_TRUE(write_link_status(file, {LinkState::reconnecting, 9, "owner", {}}).ok());
	r = read_link_status(file);
	ASSERT_TRUE(r) << r.error().message;
	EXPECT_FALSE(r->follows_target_size.has_value());
	EXPECT_EQ(r->lock_owner, "owner");
	put("vu0.link", R"({"state": "connected", "since": 1, "follows_target_size": "yes"})");
	EXPECT_FALSE(read_link_status(file));
}
