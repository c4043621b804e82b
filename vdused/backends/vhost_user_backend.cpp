#include "vhost_user_backend.h"

#include "vhost_user_queue.h"

#include <spdlog/spdlog.h>

namespace vduse
{

VhostUserBackend::VhostUserBackend(const DeviceSpec &spec, const std::filesystem::path &link_file,
                                   StatusLine &status)
        : spec_(spec), reporter_(link_file, 1, status),
          link_(std::make_unique<VhostUserLink>(
                  spec, reporter_,
                  VhostUserQueue::layout(spec.queue_depth, blk_geometry(spec)).total))
{
}

Result<std::unique_ptr<Backend>> VhostUserBackend::open(const DeviceSpec &spec,
                                                        const std::filesystem::path &link_file,
                                                        StatusLine &status)
{
	auto backend = std::make_unique<VhostUserBackend>(spec, link_file, status);
	// Connects in the background: vdused serves (holding requests) while
	// the target is down, as at boot before the target's own service. With
	// bounce memory of its own (the virtio driver only), once it is given:
	// a target without memory slots is handed it at connection.
	if (!backend->waits_for_bounce_memory())
		if (auto st = backend->link_->start(); !st)
			return with_context(spec.name, st.error());
	return std::unique_ptr<Backend>(std::move(backend));
}

bool VhostUserBackend::waits_for_bounce_memory() const
{
	return spec_.bounce_memory != "default" && spec_.driver == Driver::virtio;
}

void VhostUserBackend::use_fixed_memory(const BounceMemory &memory)
{
	if (!waits_for_bounce_memory())
		return;
	link_->use_bounce_memory(memory);
	if (auto st = link_->start(); !st)
		spdlog::error("{}: {}", spec_.name, st.error().message);
}

Result<std::unique_ptr<QueueBackend>> VhostUserBackend::open_queue(uint32_t index, uint32_t depth)
{
	return VhostUserQueue::open(*link_, spec_, index, depth);
}

} // namespace vduse
