#include "vduse/vduse_device.h"

#include "vduse/vduse_control.h"

#include <cstddef>
#include <cstring>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <vector>

namespace vduse
{

Result<VduseDevice> VduseDevice::open(const std::string &name)
{
	std::string path = device_node_path(name);
	UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK));
	if (!fd) {
		if (errno == EBUSY)
			return Error{EBUSY, path + " is already served by another process"};
		return errno_error("cannot open " + path);
	}
	return VduseDevice(name, std::move(fd));
}

Status VduseDevice::setup_queue(uint32_t index, uint32_t max_size) const
{
	vduse_vq_config config{};
	config.index = index;
	config.max_size = static_cast<uint16_t>(max_size);
	if (::ioctl(fd(), VDUSE_VQ_SETUP, &config) < 0)
		return errno_error(name_ + ": cannot set up queue " + std::to_string(index));
	return {};
}

Result<vduse_vq_info> VduseDevice::queue_info(uint32_t index) const
{
	vduse_vq_info info{};
	info.index = index;
	if (::ioctl(fd(), VDUSE_VQ_GET_INFO, &info) < 0)
		return errno_error(name_ + ": cannot get the state of queue " +
		                   std::to_string(index));
	return info;
}

Status VduseDevice::set_kick_fd(uint32_t index, int eventfd) const
{
	vduse_vq_eventfd config{};
	config.index = index;
	config.fd = eventfd;
	if (::ioctl(fd(), VDUSE_VQ_SETUP_KICKFD, &config) < 0)
		return errno_error(name_ + ": cannot set the kick eventfd of queue " +
		                   std::to_string(index));
	return {};
}

Status VduseDevice::inject_irq(uint32_t index) const
{
	if (::ioctl(fd(), VDUSE_VQ_INJECT_IRQ, &index) < 0)
		return errno_error(name_ + ": cannot interrupt the driver for queue " +
		                   std::to_string(index));
	return {};
}

Result<bool> VduseDevice::inject_irq_if_running(uint32_t index) const
{
	// EINVAL without DRIVER_OK (drivers/vdpa/vdpa_user/vduse_dev.c,
	// vduse_dev_queue_irq_work).
	if (::ioctl(fd(), VDUSE_VQ_INJECT_IRQ, &index) < 0) {
		if (errno == EINVAL)
			return false;
		return errno_error(name_ + ": cannot interrupt the driver for queue " +
		                   std::to_string(index));
	}
	return true;
}

Result<uint64_t> VduseDevice::negotiated_features() const
{
	uint64_t features = 0;
	if (::ioctl(fd(), VDUSE_DEV_GET_FEATURES, &features) < 0)
		return errno_error(name_ + ": cannot read the negotiated features");
	return features;
}

Status VduseDevice::set_config(uint32_t offset, const void *bytes, uint32_t length) const
{
	// struct vduse_config_data ends in a flexible array.
	std::vector<uint8_t> buffer(sizeof(vduse_config_data) + length);
	vduse_config_data header{};
	header.offset = offset;
	header.length = length;
	std::memcpy(buffer.data(), &header, sizeof(header));
	std::memcpy(buffer.data() + offsetof(vduse_config_data, buffer), bytes, length);
	if (::ioctl(fd(), VDUSE_DEV_SET_CONFIG, buffer.data()) < 0)
		return errno_error(name_ + ": cannot write the config space");
	return {};
}

Result<bool> VduseDevice::inject_config_irq() const
{
	// EINVAL while the driver has not set DRIVER_OK
	// (drivers/vdpa/vdpa_user/vduse_dev.c, vduse_dev_queue_irq_work).
	if (::ioctl(fd(), VDUSE_DEV_INJECT_CONFIG_IRQ) < 0) {
		if (errno == EINVAL)
			return false;
		return errno_error(name_ + ": cannot interrupt the driver for a config change");
	}
	return true;
}

Result<std::optional<vduse_dev_request>> VduseDevice::read_request() const
{
	vduse_dev_request request{};
	ssize_t n = ::read(fd(), &request, sizeof(request));
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return std::optional<vduse_dev_request>();
		return errno_error(name_ + ": cannot read a message from the kernel");
	}
	if (static_cast<size_t>(n) != sizeof(request))
		return failure(name_ + ": short message from the kernel (" + std::to_string(n) +
		               " bytes)");
	return std::optional<vduse_dev_request>(request);
}

Status VduseDevice::write_response(const vduse_dev_response &response) const
{
	ssize_t n = ::write(fd(), &response, sizeof(response));
	if (n == static_cast<ssize_t>(sizeof(response)))
		return {};
	if (n < 0 && errno == ENOENT) {
		// drivers/vdpa/vdpa_user/vduse_dev.c: the message is no longer
		// waited for, which only a timeout does, and that marked the
		// device broken; EPERM says so, as for every later ioctl.
		Error late = failure(name_ + ": the answer to a message came after the kernel's "
		                             "timeout");
		late.code = EPERM;
		return late;
	}
	return errno_error(name_ + ": cannot answer the kernel");
}

} // namespace vduse
