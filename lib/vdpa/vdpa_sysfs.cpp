#include "vdpa/vdpa_sysfs.h"

#include "base/unique_fd.h"

#include <fcntl.h>
#include <filesystem>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

namespace vduse
{

namespace
{

const fs::path bus = "/sys/bus/vdpa";

Status write_attr(const fs::path &path, const std::string &value)
{
	UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
	if (!fd ||
	    ::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
		return errno_error("cannot write '" + value + "' to " + path.string());
	return {};
}

} // namespace

bool vdpa_device_exists(const std::string &name)
{
	std::error_code ec;
	return fs::exists(bus / "devices" / name, ec);
}

std::string vdpa_bound_driver(const std::string &name)
{
	std::error_code ec;
	fs::path target = fs::read_symlink(bus / "devices" / name / "driver", ec);
	return ec ? std::string() : target.filename().string();
}

Status vdpa_bind(const std::string &name, Driver driver)
{
	std::string wanted(driver_kernel_name(driver));
	std::string current = vdpa_bound_driver(name);
	if (current == wanted)
		return {};
	// Every vdpa driver matches every device: pin the choice with
	// driver_override, then ask the bus to probe again (drivers/vdpa/vdpa.c).
	if (!current.empty()) {
		if (auto st = write_attr(bus / "drivers" / current / "unbind", name); !st)
			return st;
	}
	if (auto st = write_attr(bus / "devices" / name / "driver_override", wanted); !st)
		return st;
	if (auto st = write_attr(bus / "drivers_probe", name); !st)
		return st;
	current = vdpa_bound_driver(name);
	if (current != wanted)
		return failure(name + ": could not bind to " + wanted + " (bound to '" + current +
		               "'; is the " + wanted + " module loaded?)");
	return {};
}

std::optional<std::string> vdpa_device_node(const std::string &name)
{
	std::error_code ec;
	fs::path dev = bus / "devices" / name;
	for (const auto &entry : fs::directory_iterator(dev, ec)) {
		std::string child = entry.path().filename().string();
		if (child.rfind("vhost-vdpa-", 0) == 0)
			return "/dev/" + child;
		if (child.rfind("virtio", 0) == 0) {
			for (const auto &blk : fs::directory_iterator(entry.path() / "block", ec))
				return "/dev/" + blk.path().filename().string();
		}
	}
	return std::nullopt;
}

Result<std::string> vdpa_wait_for_node(const std::string &name, std::chrono::milliseconds timeout)
{
	auto deadline = std::chrono::steady_clock::now() + timeout;
	for (;;) {
		auto node = vdpa_device_node(name);
		if (node && ::access(node->c_str(), F_OK) == 0)
			return *node;
		if (std::chrono::steady_clock::now() > deadline)
			return Error{ETIMEDOUT, name + ": no device node appeared within " +
			                                std::to_string(timeout.count()) + " ms"};
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	}
}

} // namespace vduse
