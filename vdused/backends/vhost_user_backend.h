// The vhost-user bridge: vdused is the front-end of a vhost-user-blk target
// (SPDK, qemu-storage-daemon, ...). Each queue validates the driver's
// requests as for any backend, then forwards them through a split ring of
// its own that the target serves: the request header and status byte are
// vdused's copies, the data descriptors point into the driver's buffers
// (the VDUSE IOTLB regions, handed to the target as memory regions with
// guest address = IOVA), so the data is never copied. Completions come back
// on the queue's call eventfd, which the queue's worker polls itself.
#pragma once

#include "backend.h"
#include "base/mapping.h"
#include "link_reporter.h"
#include "vhost_user_link.h"
#include "virtio/blk_config.h"

#include <memory>

namespace vduse
{

class VhostUserBackend final : public Backend
{
public:
	static Result<std::unique_ptr<Backend>>
	open(const DeviceSpec &spec, const std::filesystem::path &link_file, StatusLine &status);
	VhostUserBackend(const DeviceSpec &spec, const std::filesystem::path &link_file,
	                 StatusLine &status);

	Result<std::unique_ptr<QueueBackend>> open_queue(uint32_t index, uint32_t depth) override;
	VhostUserLink *vhost_user_link() override { return link_.get(); }
	void attach_memory(Iotlb &iotlb) override { link_->attach_memory(iotlb); }
	void memory_invalidated(uint64_t first, uint64_t last) override
	{
		link_->invalidate(first, last);
	}
	bool requests_survive_remap() const override { return false; }
	void use_fixed_memory(const BounceMemory &memory) override;
	Result<uint64_t> remote_size() override { return link_->target_size(); }

private:
	bool waits_for_bounce_memory() const;
	DeviceSpec spec_;
	LinkReporter reporter_;
	std::unique_ptr<VhostUserLink> link_;
};

} // namespace vduse
