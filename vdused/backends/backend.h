// What a backend does for vdused: execute checked virtio-blk requests.
// One QueueBackend per virtqueue, used only by that queue's worker thread.
// A request either finishes in submit() or later, reported by reap(); until
// then its buffers stay mapped and the request untouched.
#pragma once

#include "base/result.h"
#include "state/device_spec.h"
#include "status_line.h"
#include "vduse/iotlb.h"
#include "virtio/blk_request.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

namespace vduse
{

struct Completion {
	uint16_t tag;
	uint8_t status;
};

class QueueBackend
{
public:
	virtual ~QueueBackend() = default;
	// Starts IN, OUT, FLUSH, DISCARD or WRITE_ZEROES. Returns the virtio-blk
	// status if the request finished at once, nullopt if reap() will report it.
	virtual std::optional<uint8_t> submit(const BlkRequest &request, uint16_t tag) = 0;
	// Hands what submit() queued to the kernel; called once per batch.
	virtual void flush() {}
	// Readable when reap() has something, or -1 for a synchronous backend.
	virtual int completion_fd() const { return -1; }
	// Appends finished requests; with wait, blocks until at least one finished
	// if any is in flight.
	virtual void reap(std::vector<Completion> & /*out*/, bool /*wait*/) {}
	virtual unsigned in_flight() const { return 0; }
	// The driver reset the device: every request in flight is void and its
	// buffers are the driver's again. A backend whose requests can wait
	// for a server that is gone finishes those now (any status: nobody
	// answers them), so that the reset is answered in time; it must not
	// touch their buffers afterwards. Requests already with a live server
	// finish as they would. A backend whose library cannot take a request
	// back (librbd) leaves it running, detached from the queue, and counts
	// it in detached() until it finishes: the device server fences the
	// memory such requests may still write into (Iotlb::invalidate). Called
	// once by the worker as it stops, before it reaps what is left.
	virtual void abandon() {}
	// An IOTLB change, at a backend whose requests cannot go on across it
	// (Backend::requests_survive_remap false): what is in flight must
	// finish in bounded time, so that the kernel is answered in time, and
	// is answered (the driver still waits for it). What cannot finish in
	// time is failed (IOERR). Called once by the worker as it stops, before
	// it reaps what is left; by default, as abandon().
	virtual void give_up() { abandon(); }
	// Any thread: requests abandon() left running that have not finished.
	virtual unsigned detached() const { return 0; }
	// The worker polls reap() from now on: a backend whose peer signals
	// completion_fd() at every completion may ask it not to.
	virtual void quiet_completions() {}
	// The worker is about to wait: completion_fd() must be signalled at
	// the next completion. False if one finished meanwhile (the worker
	// reaps instead of waiting).
	virtual bool arm_completions() { return true; }
	// With nothing in flight, when the worker starts and at each wake-up:
	// the backend readies itself for requests to come.
	virtual void prepare() {}
};

class VhostUserLink;

class Backend
{
public:
	virtual ~Backend() = default;
	// The vhost-user backend's connection (direct rings use it); none for
	// the others.
	virtual VhostUserLink *vhost_user_link() { return nullptr; }
	virtual Result<std::unique_ptr<QueueBackend>> open_queue(uint32_t index,
	                                                         uint32_t depth) = 0;
	// The device's IOTLB, for a backend that hands the driver's memory to
	// another process (vhost-user); given once, before any queue starts.
	virtual void attach_memory(Iotlb & /*iotlb*/) {}
	// The daemon's own bounce memory, where the driver's data lives, for
	// a backend that can register it (io_uring fixed buffers); given once,
	// before any queue opens, and outlives the backend.
	virtual void use_fixed_memory(const BounceMemory & /*memory*/) {}
	// [first, last] is about to be unmapped; every queue is stopped. Unless
	// requests_survive_remap(), nothing is in flight.
	virtual void memory_invalidated(uint64_t /*first*/, uint64_t /*last*/) {}
	// Whether requests in flight go on across an IOTLB change, their
	// buffers in the mappings the device server keeps for them
	// (Iotlb::Invalidation::retire), so that the change is answered at once
	// whatever a server does. False for a backend that has handed those
	// mappings' files to another process (vhost-user): its queues are
	// drained before the regions go.
	virtual bool requests_survive_remap() const { return true; }
	// For a backend whose size lives on its server (nbd, rbd, vhost-user): the size
	// there now, learnt so that requests up to it are served once this
	// returns. What `vdusectl resize NAME` follows. On the control thread,
	// while the queues run.
	virtual Result<uint64_t> remote_size()
	{
		return failure("the size of this backend is not kept by a server");
	}
};

// link_file: where a network backend keeps its connection state, which it
// also puts in the status line.
Result<std::unique_ptr<Backend>>
make_backend(const DeviceSpec &spec, const std::filesystem::path &link_file, StatusLine &status);

} // namespace vduse
