#include "file_backend.h"

#include "daemon_log.h"
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
	        spec.name, std::move(file->fd), file->block_device, file->direct_alignment));
}

Result<std::unique_ptr<QueueBackend>> FileBackend::open_queue(uint32_t index, uint32_t depth)
{
	UringQueue::Options options;
	options.fd = fd_.get();
	options.block_device = block_device_;
	options.direct_alignment = direct_alignment_;
	options.depth = depth;
	options.fixed = fixed_;
	options.memory = memory_;
	options.log = queue_logger(device_, index);
	return UringQueue::create(std::move(options));
}

} // namespace vduse
