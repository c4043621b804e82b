#include "file_backend.h"

#include "state/backing_file.h"
#include "uring_queue.h"

namespace vduse
{

Result<std::unique_ptr<Backend>> FileBackend::open(const DeviceSpec &spec)
{
	auto file = open_backing_file(spec);
	if (!file)
		return file.error();
	if (file->size < spec.size_bytes)
		return failure(spec.name + ": " + spec.file + " holds " +
		               std::to_string(file->size) + " bytes, less than the device's " +
		               std::to_string(spec.size_bytes));
	return std::unique_ptr<Backend>(std::make_unique<FileBackend>(
	        std::move(file->fd), file->block_device, file->direct_alignment));
}

Result<std::unique_ptr<QueueBackend>> FileBackend::open_queue(uint32_t, uint32_t depth)
{
	return UringQueue::create(fd_.get(), block_device_, direct_alignment_, depth, fixed_);
}

} // namespace vduse
