// /dev/vduse/control: creating and destroying VDUSE devices.
#pragma once

#include "base/result.h"
#include "base/unique_fd.h"

#include <cstdint>
#include <string>
#include <vector>

namespace vduse
{

inline constexpr const char *control_path = "/dev/vduse/control";

struct VduseDeviceConfig {
	std::string name;
	uint32_t device_id = 0;
	uint64_t features = 0;
	uint32_t queues = 0;
	std::vector<uint8_t> config_space;
};

class VduseControl
{
public:
	// Opens the control node and sets API version 0.
	static Result<VduseControl> open();

	Status create_device(const VduseDeviceConfig &config) const;
	// Fails with EBUSY while the device is attached to vdpa or its fd is open.
	Status destroy_device(const std::string &name) const;
	// Retries while EBUSY: a daemon's fd closes a moment after it exits.
	// Succeeds if the device is already gone.
	Status destroy_device_when_released(const std::string &name) const;

private:
	explicit VduseControl(UniqueFd fd) : fd_(std::move(fd)) {}
	UniqueFd fd_;
};

// Opens the control node and destroys NAME once no fd holds it
// (VduseControl::destroy_device_when_released).
Status destroy_vduse_device(const std::string &name);

// /dev/vduse/NAME and /sys/class/vduse/NAME.
std::string device_node_path(const std::string &name);
bool device_exists(const std::string &name);

// Whether the kernel gave up on NAME: a message not answered within its
// timeout marks a device broken for good, and every ioctl on it then fails
// with EPERM (drivers/vdpa/vdpa_user/vduse_dev.c, vduse_dev_ioctl). Asks
// only when no daemon holds the device (false when one does, or if it
// cannot be opened).
bool device_broken(const std::string &name);

} // namespace vduse
