// The client's modes: each runs against an open session and returns the
// process exit status (0 passed, 1 failed), printing what it found.
#pragma once

#include "blk_session.h"

#include <optional>
#include <string>
#include <vector>

namespace vduse::client
{

struct VerifyOptions {
	double seconds = 5;
	uint64_t requests = 0; // per queue; 0: until seconds pass
	uint64_t seed = 1;
	bool null_device = false;   // reads return zeros, writes vanish
	bool initial_zero = false;  // the device reads zeros where nothing was written
	bool trim = true;           // DISCARD and WRITE_ZEROES in the mix
	bool read_only = false;     // writes must fail with IOERR
	std::string serial;         // GET_ID must return it (empty: not checked)
	std::string expected_image; // write what the device should hold here
	std::vector<Layout> layouts{std::begin(all_layouts), std::end(all_layouts)};
};
int run_verify(BlkSession &session, const VerifyOptions &options);

struct BenchOptions {
	double seconds = 5;
	double ramp = 1;
	bool write = false;
	uint32_t block = 4096;
	bool json = false;
};
int run_bench(BlkSession &session, const BenchOptions &options);

struct HostileOptions {
	std::string only; // one case, empty: all
	bool list = false;
	// The backend completes reads later (file, loop): a head offered twice
	// is still in flight at the second offer.
	bool async_backend = false;
	// The data is read and written by another process (a vhost-user
	// target), whose touch of a shrunk memory file the kernel answers with
	// EFAULT: the request fails instead of the queue stopping.
	bool target_process = false;
	// The device's server is down (nbd, rbd): good requests are held, not
	// answered. Cases that need an answer from the server are not
	// applicable; after each case a good request is left held, and every
	// reset, which voids it, must be answered within reset_limit_ms.
	bool server_down = false;
	long long reset_limit_ms = 5000;
};
int run_hostile(BlkSession &session, const HostileOptions &options);

struct OutageOptions {
	uint32_t requests = 8;           // writes in flight at the reset (queue 0)
	bool reads = false;              // every other request a read
	double hold = 2;                 // seconds between submitting and resetting
	double watch = 5;                // seconds to watch the memory after the reset
	long long reset_limit_ms = 5000; // the reset must be answered within this
	// Instead of a reset, a new memory table (an IOTLB entry added, as a VMM
	// that adds memory): answered at once, and the held requests finish
	// with OK once the server is back (within watch).
	bool iotlb_change = false;
	bool iotlb_remap = false;
	// What the held requests must finish with after the IOTLB change:
	// VIRTIO_BLK_S_OK, or VIRTIO_BLK_S_IOERR where the device cannot keep
	// them across it (a vhost-user target that stopped answering).
	uint8_t held_status = 0;
};
int run_outage(BlkSession &session, const OutageOptions &options);

struct FloodOptions {
	uint32_t requests = 32;      // in flight (queue 0)
	uint32_t segments = 0;       // per request; 0: the device's seg_max
	uint32_t segment_bytes = 0;  // each; 0: size_max, at most 1 MiB
	bool write = false;          // writes instead of reads
	bool unaligned = false;      // data at an odd address
	double seconds = 10;         // of new requests
	unsigned drain_seconds = 60; // then the ones in flight must finish
};
int run_flood(BlkSession &session, const FloodOptions &options);

// Fills a block with the pattern of (block number, generation); 0: zeros.
void fill_pattern(uint8_t *dst, uint32_t bytes, uint64_t block, uint32_t generation);

} // namespace vduse::client
