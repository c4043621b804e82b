// Answers the kernel's messages for a VDUSE device nobody serves, so that
// `del --force` can detach it: the vdpa bus resets the device on removal and
// waits for an answer (drivers/vdpa/vdpa_user/vduse_dev.c, vduse_dev_msg_sync:
// without a reader it waits msg_timeout, then marks the device broken).
#pragma once

#include "base/result.h"
#include "vduse/vduse_device.h"

#include <memory>
#include <string>
#include <thread>

namespace vduse
{

class ResetResponder
{
public:
	// Opens /dev/vduse/NAME (EBUSY if a process serves it) and answers every
	// message with success until destroyed.
	static Result<ResetResponder> start(const std::string &name);

private:
	explicit ResetResponder(std::unique_ptr<VduseDevice> device);
	std::unique_ptr<VduseDevice> device_;
	std::jthread thread_;
};

} // namespace vduse
