#include "state/state_dir.h"

#include "base/json_file.h"
#include "config.h"

#include <cstdlib>
#include <fcntl.h>
#include <sys/file.h>

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

void StateDir::remove_inflight(const std::string &name) const
{
	std::error_code ec;
	fs::remove(inflight_path(name), ec);
}

Status StateDir::create() const
{
	std::error_code ec;
	fs::create_directories(root_, ec);
	if (ec)
		return system_error(ec.value(), "cannot create state directory " + root_.string());
	return {};
}

Result<UniqueFd> StateDir::lock() const
{
	if (auto st = create(); !st)
		return st.error();
	fs::path path = root_ / "lock";
	UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
	if (!fd)
		return errno_error("cannot open " + path.string());
	// flock() locks die with their process: a crashed vdusectl leaves no stale lock.
	if (::flock(fd.get(), LOCK_EX) < 0)
		return errno_error("cannot lock " + path.string());
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
		return failure(path.string() + " is not a device record");
	auto spec = spec_from_json((*json)["spec"]);
	if (!spec)
		return failure(path.string() + ": " + spec.error().message);
	DeviceRecord record;
	record.spec = *spec;
	record.pid = json->value("pid", 0);
	record.unit = json->value("unit", "");
	record.persistent = json->value("persistent", false);
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
	fs::remove(record_path(name), ec);
	fs::remove(daemon_log_path(name), ec);
	fs::remove(link_path(name), ec);
	remove_inflight(name);
}

} // namespace vduse
