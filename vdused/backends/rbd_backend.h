// The rbd backend: a Ceph RBD image through librbd's asynchronous API. One
// cluster connection and one open image per daemon, shared by the queues;
// librbd completes requests on its own threads, which post them to the
// queue's mailbox. librados itself resends operations after an OSD or
// monitor connection is lost; a finite reconnect timeout bounds them.
#pragma once

#include "backend.h"
#include "link_reporter.h"
#include "remote/rbd_client.h"

#include <filesystem>

namespace vduse
{

class RbdBackend final : public Backend
{
public:
	static Result<std::unique_ptr<Backend>>
	open(const DeviceSpec &spec, const std::filesystem::path &link_file, StatusLine &status);
	RbdBackend(RbdImage image, const DeviceSpec &spec, const std::filesystem::path &link_file,
	           StatusLine &status);

	Result<std::unique_ptr<QueueBackend>> open_queue(uint32_t index, uint32_t depth) override;
	Result<uint64_t> remote_size() override;

private:
	RbdImage image_;
	LinkReporter reporter_;
};

} // namespace vduse
