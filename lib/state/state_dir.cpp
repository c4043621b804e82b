#include "state/state_dir.h"

#include "base/json_file.h"
#include "config.h"

#include <array>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <limits>
#include <sys/file.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

namespace vduse
{

fs::path StateDir::default_root()
{
	const char *env = std::getenv("VDUSE_STATE_DIR");
	return env && *env ? fs::path(env) : fs::path(VDUSE_STATE_DIR);
}

fs::path StateDir::record_path(const std::string &name) const
{
	return root_ / (name + ".json");
}

fs::path StateDir::daemon_log_path(const std::string &name) const
{
	return root_ / (name + ".log");
}

fs::path StateDir::inflight_path(const std::string &name) const
{
	return root_ / (name + ".inflight");
}

fs::path StateDir::link_path(const std::string &name) const
{
	return root_ / (name + ".link");
}

fs::path StateDir::bounce_path(const std::string &name) const
{
	return root_ / (name + ".bounce");
}

fs::path StateDir::stats_path(const std::string &name) const
{
	return root_ / (name + ".stats");
}

fs::path StateDir::resize_ack_path(const std::string &name) const
{
	return root_ / (name + ".resized");
}

void StateDir::remove_inflight(const std::string &name) const
{
	std::error_code ec;
	fs::remove(inflight_path(name), ec);
	// Direct rings' record (vdused/backends/vhost_user_direct.h).
	fs::remove(fs::path(inflight_path(name)) += ".rings", ec);
}

Status StateDir::create() const
{
	std::error_code ec;
	fs::create_directories(root_, ec);
	if (ec)
		return system_error(ec.value(), "cannot create state directory " + root_.string());
	return {};
}

namespace
{

pid_t lock_holder(int fd)
{
	std::array<char, 16> text{};
	ssize_t n = ::pread(fd, text.data(), text.size() - 1, 0);
	if (n <= 0)
		return 0;
	long pid = std::strtol(text.data(), nullptr, 10);
	if (pid <= 0 || pid >= std::numeric_limits<pid_t>::max())
		return 0;
	// The file keeps the last holder's pid: one that is gone is not the holder.
	return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM ? static_cast<pid_t>(pid)
	                                                                 : 0;
}

} // namespace

Result<UniqueFd> StateDir::open_lock() const
{
	if (auto st = create(); !st)
		return st.error();
	fs::path path = root_ / "lock";
	UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
	if (!fd)
		return errno_error("cannot open " + path.string());
	return fd;
}

Status StateDir::mark_lock(const UniqueFd &fd) const
{
	std::string pid = std::to_string(::getpid()) + "\n";
	if (::ftruncate(fd.get(), 0) < 0 ||
	    ::pwrite(fd.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
		return errno_error("cannot write " + (root_ / "lock").string());
	return {};
}

Result<UniqueFd> StateDir::lock(const std::function<void(pid_t)> &waiting) const
{
	using namespace std::chrono_literals;
	auto fd = open_lock();
	if (!fd)
		return fd;
	std::string path = (root_ / "lock").string();
	// flock() locks die with their process: a crashed vdusectl leaves no stale lock.
	auto said_at = std::chrono::steady_clock::now() + 1s;
	while (::flock(fd->get(), LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return errno_error("cannot lock " + path);
		if (std::chrono::steady_clock::now() >= said_at) {
			if (waiting)
				waiting(lock_holder(fd->get()));
			if (::flock(fd->get(), LOCK_EX) < 0)
				return errno_error("cannot lock " + path);
			break;
		}
		std::this_thread::sleep_for(20ms);
	}
	if (auto st = mark_lock(*fd); !st)
		return st.error();
	return fd;
}

Result<UniqueFd> StateDir::try_lock() const
{
	auto fd = open_lock();
	if (!fd)
		return fd;
	int got;
	do
		got = ::flock(fd->get(), LOCK_EX | LOCK_NB);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return system_error(errno, "cannot lock " + (root_ / "lock").string());
	if (auto st = mark_lock(*fd); !st)
		return st.error();
	return fd;
}

bool StateDir::has(const std::string &name) const
{
	std::error_code ec;
	return fs::exists(record_path(name), ec);
}

std::vector<std::string> StateDir::names() const
{
	return json_file_stems(root_);
}

Result<DeviceRecord> StateDir::read(const std::string &name) const
{
	fs::path path = record_path(name);
	auto json = read_json_file(path);
	if (!json) {
		if (json.error().code == ENOENT)
			return Error{ENOENT, "device '" + name + "' does not exist"};
		return json.error();
	}
	if (!json->is_object() || !json->contains("spec"))
		return failure(path.string() + " is not a device record (no \"spec\")");
	auto spec = spec_from_json((*json)["spec"]);
	if (!spec)
		return failure(path.string() + ": " + spec.error().message);
	if (spec->name != name)
		return failure(path.string() + ": names device '" + spec->name +
		               "', not the file's name '" + name + "'");
	DeviceRecord record;
	record.spec = *spec;
	try {
		int64_t pid = json->value("pid", int64_t{0});
		if (pid < 0 || pid > std::numeric_limits<pid_t>::max())
			return failure(path.string() + ": pid " + std::to_string(pid) +
			               " is out of range");
		record.pid = static_cast<pid_t>(pid);
		record.unit = json->value("unit", "");
		record.persistent = json->value("persistent", false);
	} catch (const nlohmann::json::exception &e) {
		return failure(path.string() + ": malformed device record: " + e.what());
	}
	return record;
}

Status StateDir::write(const DeviceRecord &record) const
{
	return write_json_file(record_path(record.spec.name), {{"spec", spec_to_json(record.spec)},
	                                                       {"pid", record.pid},
	                                                       {"unit", record.unit},
	                                                       {"persistent", record.persistent}});
}

void StateDir::remove(const std::string &name) const
{
	std::error_code ec;
	// remove_all: a directory in a record's place goes too (del --force).
	fs::remove_all(record_path(name), ec);
	fs::remove(daemon_log_path(name), ec);
	fs::remove(link_path(name), ec);
	fs::remove(resize_ack_path(name), ec);
	fs::remove(stats_path(name), ec);
	fs::remove(bounce_path(name), ec);
	remove_inflight(name);
}

} // namespace vduse
