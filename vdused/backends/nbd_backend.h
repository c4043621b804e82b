// The nbd backend: an NBD server through libnbd. One connection per queue
// when the server allows several (multi-conn), else one shared by all
// queues; each driven by its own thread (nbd_connection.h).
#pragma once

#include "backend.h"
#include "link_reporter.h"
#include "nbd_connection.h"

#include <filesystem>
#include <vector>

namespace vduse
{

class NbdBackend final : public Backend
{
public:
	// Starts the connections; they connect in the background, so vdused
	// serves (holding requests) even while the server is down.
	static Result<std::unique_ptr<Backend>>
	open(const DeviceSpec &spec, const std::filesystem::path &link_file, StatusLine &status);
	NbdBackend(const std::filesystem::path &link_file, size_t connections, uint32_t block_size,
	           StatusLine &status);

	Result<std::unique_ptr<QueueBackend>> open_queue(uint32_t index, uint32_t depth) override;
	Result<uint64_t> remote_size() override;

private:
	LinkReporter reporter_;
	uint32_t block_size_; // the device's; a multiple of the server's minimum
	std::vector<std::unique_ptr<NbdConnection>> connections_;
};

} // namespace vduse
