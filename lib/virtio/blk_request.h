// virtio-blk requests: decoding a descriptor chain into a request that is
// safe to hand to a backend, after checking its type, range and alignment.
#pragma once

#include "virtio/blk_config.h"
#include "virtio/split_queue.h"

#include <cstdint>
#include <linux/virtio_blk.h>
#include <string>
#include <vector>

namespace vduse
{

struct BlkRange {
	uint64_t offset = 0; // bytes
	uint64_t length = 0; // bytes
	bool unmap = false;  // write zeroes may deallocate
};

struct BlkRequest {
	uint32_t type = 0;
	uint64_t offset = 0;     // bytes, for IN and OUT
	std::vector<iovec> data; // data-in (IN, GET_ID) or data-out (OUT) buffers
	uint64_t data_len = 0;
	std::vector<BlkRange> ranges; // DISCARD and WRITE_ZEROES
	uint8_t *status = nullptr;    // the status byte, nullptr if the chain has none
};

// Fills req from chain and returns VIRTIO_BLK_S_OK if the request is valid,
// else the status to complete it with. req.status is the chain's last byte
// when it is a place to answer (DescriptorChain::last_byte); without one
// (nullptr) the request cannot be answered and the driver has broken the
// protocol: the caller must not complete it.
uint8_t decode_blk_request(const DescriptorChain &chain, const BlkGeometry &geometry,
                           BlkRequest &req);

// Bytes of data a request moves between the driver and the storage (what
// stats count): its data for a read or a write, none for any other type.
inline uint64_t blk_bytes_moved(const BlkRequest &req)
{
	return req.type == VIRTIO_BLK_T_IN || req.type == VIRTIO_BLK_T_OUT ? req.data_len : 0;
}

// Bytes the device wrote into the chain's writable buffers for a request
// completed with `status` (the used ring's len).
uint32_t blk_used_length(const BlkRequest &req, uint8_t status);

} // namespace vduse
