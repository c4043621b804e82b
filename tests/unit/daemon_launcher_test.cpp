// vdusectl's spawn mode waits for vdused's READY=1 on an abstract socket,
// which any local process can send to: only the child it started counts.
// The child here is a stand-in for vdused (a shell script: what is tested
// is the launcher's check, not vdused), and the impostor a thread of ours.
#include "daemon_launcher.h"
#include "state/state_dir.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

namespace vduse
{
namespace
{

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class DaemonLauncher : public ::testing::Test
{
protected:
	void SetUp() override
	{
		dir_ = fs::path(::testing::TempDir()) /
		       ("launcher-" + std::to_string(::getpid()) + "-" +
		        ::testing::UnitTest::GetInstance()->current_test_info()->name());
		fs::create_directories(dir_);
	}
	void TearDown() override { fs::remove_all(dir_); }

	// A stand-in vdused running SCRIPT (sh).
	void fake_vdused(const std::string &script)
	{
		fs::path path = dir_ / "vdused";
		std::ofstream(path) << "#!/bin/sh\n" << script << "\n";
		fs::permissions(path, fs::perms::owner_all);
		::setenv("VDUSED", path.c_str(), 1);
	}

	fs::path dir_;
};

// Sends READY=1 to vdusectl's notification socket for NAME until stopped.
void impostor(const std::string &name, const std::atomic<bool> &stop)
{
	std::string abstract = "vdusectl/" + std::to_string(::getpid()) + "/" + name;
	sockaddr_un addr{};
	addr.sun_family = AF_UNIX;
	std::memcpy(addr.sun_path + 1, abstract.data(), abstract.size());
	auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + abstract.size());
	int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	while (!stop.load()) {
		(void)::sendto(fd, "READY=1", 7, 0, reinterpret_cast<sockaddr *>(&addr), len);
		std::this_thread::sleep_for(10ms);
	}
	::close(fd);
}

TEST_F(DaemonLauncher, AReadyFromAnotherProcessIsIgnored)
{
	// Never ready: it fails after a while, as a vdused that cannot serve.
	fake_vdused("sleep 1; echo 'vdused[1]: error: d0: cannot serve' >&2; exit 1");
	StateDir state(dir_);
	std::atomic<bool> stop{false};
	std::thread rogue(impostor, "d0", std::cref(stop));
	auto started = start_daemon(state, "d0", false, 10s);
	stop = true;
	rogue.join();
	ASSERT_FALSE(started) << "the impostor's READY was taken for vdused's (pid " << *started
	                      << ")";
	EXPECT_NE(started.error().message.find("d0: vdused exited with status 1 before it was "
	                                       "ready: vdused[1]: error: d0: cannot serve"),
	          std::string::npos)
	        << started.error().message;
}

TEST_F(DaemonLauncher, TheChildsOwnReadyCounts)
{
	// systemd-notify sends from a process of its own: the script must send
	// from its own pid, as vdused's sd_notify does. Python's socket module
	// is the smallest way to do that from a script.
	fake_vdused("exec python3 -c 'import os, socket, time\n"
	            "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
	            "a = os.environ[\"NOTIFY_SOCKET\"]\n"
	            "s.sendto(b\"READY=1\", \"\\0\" + a[1:])\n"
	            "time.sleep(30)'");
	StateDir state(dir_);
	std::atomic<bool> stop{false};
	std::thread rogue(impostor, "d1", std::cref(stop));
	auto started = start_daemon(state, "d1", false, 10s);
	stop = true;
	rogue.join();
	ASSERT_TRUE(started) << started.error().message;
	EXPECT_GT(*started, 0);
	(void)stop_daemon(*started, "d1", 1s);
	::kill(*started, SIGKILL);
	::waitpid(*started, nullptr, 0);
}

} // namespace
} // namespace vduse
