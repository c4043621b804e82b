// What a backend does for vdused: execute checked virtio-blk requests.
// One QueueBackend per virtqueue, used only by that queue's worker thread.
#pragma once

#include "blk_request.h"
#include "device_spec.h"
#include "result.h"

#include <cstdint>
#include <memory>

namespace vduse
{

class QueueBackend
{
public:
	virtual ~QueueBackend() = default;
	// Executes IN, OUT, FLUSH, DISCARD or WRITE_ZEROES; returns the virtio-blk status.
	virtual uint8_t execute(const BlkRequest &request) = 0;
};

class Backend
{
public:
	virtual ~Backend() = default;
	virtual Result<std::unique_ptr<QueueBackend>> open_queue(uint32_t index) = 0;
};

Result<std::unique_ptr<Backend>> make_backend(const DeviceSpec &spec);

} // namespace vduse
