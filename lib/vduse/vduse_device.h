// /dev/vduse/NAME: the daemon's side of one device (queues, messages, IRQs).
#pragma once

#include "base/result.h"
#include "base/unique_fd.h"

#include <cstdint>
#include <linux/vduse.h>
#include <optional>
#include <string>

namespace vduse
{

class VduseDevice
{
public:
	// Opens /dev/vduse/NAME; EBUSY means another process serves it.
	static Result<VduseDevice> open(const std::string &name);

	int fd() const { return fd_.get(); }
	const std::string &name() const { return name_; }

	Status setup_queue(uint32_t index, uint32_t max_size) const;
	Result<vduse_vq_info> queue_info(uint32_t index) const;
	Status set_kick_fd(uint32_t index, int eventfd) const;
	Status inject_irq(uint32_t index) const;
	// The same, false (not an error) when no driver is running to be told
	// (before DRIVER_OK, or after a reset), as inject_config_irq.
	Result<bool> inject_irq_if_running(uint32_t index) const;
	Result<uint64_t> negotiated_features() const;
	// Writes bytes into the device's config space at offset
	// (VDUSE_DEV_SET_CONFIG).
	Status set_config(uint32_t offset, const void *bytes, uint32_t length) const;
	// Tells the driver the config space changed. False (not an error) when
	// no driver is ready to be told: it reads the config when it starts.
	Result<bool> inject_config_irq() const;

	// The next message from the kernel, or nullopt if none is pending.
	Result<std::optional<vduse_dev_request>> read_request() const;
	Status write_response(const vduse_dev_response &response) const;

private:
	VduseDevice(std::string name, UniqueFd fd) : name_(std::move(name)), fd_(std::move(fd)) {}
	std::string name_;
	UniqueFd fd_;
};

} // namespace vduse
