#include "vduse/vduse_control.h"

#include "base/unique_fd.h"

#include <cstring>
#include <fcntl.h>
#include <linux/vduse.h>
#include <memory>
#include <sys/ioctl.h>
#include <thread>
#include <unistd.h>

namespace vduse
{

Result<VduseControl> VduseControl::open()
{
	UniqueFd fd(::open(control_path, O_RDWR | O_CLOEXEC));
	if (!fd) {
		int err = errno;
		std::string hint;
		if (err == ENOENT)
			// Not loaded, or not in this kernel at all: check tells which.
			hint = " (VDUSE is not loaded or not in this kernel: 'vdusectl check' says "
			       "which, and the fix)";
		else if (err == EACCES || err == EPERM)
			hint = " (run as root)";
		return Error{err, std::string("cannot open ") + control_path + ": " +
		                          std::strerror(err) + hint};
	}
	uint64_t version = VDUSE_API_VERSION;
	if (::ioctl(fd.get(), VDUSE_SET_API_VERSION, &version) < 0)
		return errno_error("cannot set VDUSE API version 0");
	return VduseControl(std::move(fd));
}

Status VduseControl::create_device(const VduseDeviceConfig &config) const
{
	if (config.name.empty() || config.name.size() >= VDUSE_NAME_MAX)
		return failure("VDUSE device name '" + config.name + "' is empty or too long");
	// struct vduse_dev_config ends in a flexible array holding the config space.
	size_t total = sizeof(vduse_dev_config) + config.config_space.size();
	auto buffer = std::make_unique<uint64_t[]>((total + 7) / 8);
	auto *dev = reinterpret_cast<vduse_dev_config *>(buffer.get());
	std::memset(dev, 0, total);
	std::memcpy(dev->name, config.name.data(), config.name.size());
	dev->device_id = config.device_id;
	dev->vendor_id = 0;
	dev->features = config.features;
	dev->vq_num = config.queues;
	dev->vq_align = static_cast<uint32_t>(::sysconf(_SC_PAGESIZE));
	dev->config_size = static_cast<uint32_t>(config.config_space.size());
	std::memcpy(dev->config, config.config_space.data(), config.config_space.size());
	if (::ioctl(fd_.get(), VDUSE_CREATE_DEV, dev) < 0) {
		if (errno == EEXIST)
			return Error{EEXIST, "VDUSE device '" + config.name + "' already exists"};
		return errno_error("cannot create VDUSE device '" + config.name + "'");
	}
	return {};
}

Status VduseControl::destroy_device(const std::string &name) const
{
	char buf[VDUSE_NAME_MAX] = {};
	if (name.size() >= sizeof(buf))
		return failure("VDUSE device name '" + name + "' is too long");
	std::memcpy(buf, name.data(), name.size());
	if (::ioctl(fd_.get(), VDUSE_DESTROY_DEV, buf) < 0)
		return errno_error("cannot destroy VDUSE device '" + name + "'");
	return {};
}

Status VduseControl::destroy_device_when_released(const std::string &name) const
{
	for (int attempt = 0;; ++attempt) {
		auto st = destroy_device(name);
		if (st || st.error().code == ENOENT || st.error().code == EINVAL)
			return {};
		if (st.error().code != EBUSY || attempt == 50)
			return st;
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
	}
}

Status destroy_vduse_device(const std::string &name)
{
	auto control = VduseControl::open();
	if (!control)
		return control.error();
	return control->destroy_device_when_released(name);
}

std::string device_node_path(const std::string &name)
{
	return "/dev/vduse/" + name;
}

bool device_broken(const std::string &name)
{
	// O_RDWR is exclusive: EBUSY while a daemon serves the device.
	UniqueFd fd(::open(device_node_path(name).c_str(), O_RDWR | O_CLOEXEC));
	if (!fd)
		return false;
	uint64_t features = 0;
	return ::ioctl(fd.get(), VDUSE_DEV_GET_FEATURES, &features) < 0 && errno == EPERM;
}

bool device_exists(const std::string &name)
{
	return ::access(("/sys/class/vduse/" + name).c_str(), F_OK) == 0 ||
	       ::access(device_node_path(name).c_str(), F_OK) == 0;
}

} // namespace vduse
