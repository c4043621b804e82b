// The file and loop backends: a regular file or a block device, served
// through a UringQueue per virtqueue. The loop backend always uses O_DIRECT
// and claims a block device exclusively.
#pragma once

#include "backend.h"
#include "base/unique_fd.h"

#include <string>

namespace vduse
{

class FileBackend final : public Backend
{
public:
	static Result<std::unique_ptr<Backend>> open(const DeviceSpec &spec);
	FileBackend(std::string device, UniqueFd fd, bool block_device, uint32_t direct_alignment)
	        : device_(std::move(device)), fd_(std::move(fd)), block_device_(block_device),
	          direct_alignment_(direct_alignment)
	{
	}

	Result<std::unique_ptr<QueueBackend>> open_queue(uint32_t index, uint32_t depth) override;
	void use_fixed_memory(const BounceMemory &memory) override { fixed_ = &memory; }
	void attach_memory(Iotlb &iotlb) override { memory_ = &iotlb; }

private:
	std::string device_;
	UniqueFd fd_;
	bool block_device_;
	uint32_t direct_alignment_; // 0: not O_DIRECT
	const BounceMemory *fixed_ = nullptr;
	const Iotlb *memory_ = nullptr;
};

} // namespace vduse
