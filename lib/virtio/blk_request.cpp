#include "virtio/blk_request.h"

#include "virtio/blk_config.h"
#include "virtio/iovec.h"

namespace vduse
{

namespace
{

bool range_ok(const BlkGeometry &g, uint64_t sector, uint64_t bytes)
{
	uint64_t block_sectors = g.block_size / 512;
	if (sector % block_sectors != 0 || bytes % g.block_size != 0)
		return false;
	uint64_t sectors = bytes / 512;
	return sector <= g.capacity_sectors && sectors <= g.capacity_sectors - sector;
}

uint8_t decode_ranges(const BlkGeometry &g, uint32_t type, BlkRequest &req)
{
	// A read-only device does not offer DISCARD or WRITE_ZEROES, nor one
	// whose backend cannot do them (blk_config.cpp).
	if (g.read_only || (type == VIRTIO_BLK_T_DISCARD && !g.discard) ||
	    (type == VIRTIO_BLK_T_WRITE_ZEROES && !g.write_zeroes))
		return VIRTIO_BLK_S_UNSUPP;
	if (req.data_len == 0 || req.data_len % sizeof(virtio_blk_discard_write_zeroes) != 0)
		return VIRTIO_BLK_S_IOERR;
	size_t count = req.data_len / sizeof(virtio_blk_discard_write_zeroes);
	bool zeroes = type == VIRTIO_BLK_T_WRITE_ZEROES;
	if (count > g.max_segments(zeroes))
		return VIRTIO_BLK_S_IOERR;
	for (size_t i = 0; i < count; ++i) {
		virtio_blk_discard_write_zeroes seg{};
		iov_copy_out(req.data, i * sizeof(seg), &seg, sizeof(seg));
		uint32_t flags = seg.flags;
		bool unmap = flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
		// Discard has no flags; write zeroes knows only UNMAP (virtio 1.2, 5.2.6.2).
		if ((type == VIRTIO_BLK_T_DISCARD && flags != 0) ||
		    (flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP))
			return VIRTIO_BLK_S_UNSUPP;
		if (seg.num_sectors > g.max_sectors(zeroes) ||
		    !range_ok(g, seg.sector, uint64_t{seg.num_sectors} * 512))
			return VIRTIO_BLK_S_IOERR;
		// An empty range asks for nothing (and fallocate would refuse it).
		if (seg.num_sectors == 0)
			continue;
		req.ranges.push_back({seg.sector * 512, uint64_t{seg.num_sectors} * 512, unmap});
	}
	return VIRTIO_BLK_S_OK;
}

} // namespace

uint8_t decode_blk_request(const DescriptorChain &chain, const BlkGeometry &g, BlkRequest &req)
{
	req.type = 0;
	req.offset = 0;
	req.data.clear();
	req.data_len = 0;
	req.ranges.clear();
	req.status = nullptr;

	// The status is the last byte of the chain, in a device-writable
	// descriptor (virtio 1.2, 5.2.6). Without one there is nowhere to answer.
	req.status = chain.last_byte;
	if (!req.status || chain.error != ChainError::none)
		return VIRTIO_BLK_S_IOERR;
	// The limits the config space announced (blk_config.cpp). The header
	// or the status may share a descriptor with data (any layout, virtio
	// 1.2, 2.7.4), so a descriptor may exceed size_max by their bytes.
	if (chain.descriptors > g.data_segments() + 2 ||
	    chain.longest > g.segment_bytes() + sizeof(virtio_blk_outhdr) + 1)
		return VIRTIO_BLK_S_IOERR;

	virtio_blk_outhdr header{};
	if (iov_copy_out(chain.readable, 0, &header, sizeof(header)) != sizeof(header))
		return VIRTIO_BLK_S_IOERR;
	req.type = header.type;
	uint64_t sector = header.sector;

	switch (req.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_GET_ID:
		iov_slice(chain.writable, 0, 1, req.data);
		break;
	case VIRTIO_BLK_T_OUT:
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		iov_slice(chain.readable, sizeof(header), 0, req.data);
		break;
	case VIRTIO_BLK_T_FLUSH:
		return g.flush ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_UNSUPP;
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
	req.data_len = iov_length(req.data);

	switch (req.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (req.type == VIRTIO_BLK_T_OUT && g.read_only)
			return VIRTIO_BLK_S_IOERR;
		if (req.data_len == 0 || !range_ok(g, sector, req.data_len))
			return VIRTIO_BLK_S_IOERR;
		req.offset = sector * 512;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		return req.data_len > 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
	default:
		return decode_ranges(g, req.type, req);
	}
}

uint32_t blk_used_length(const BlkRequest &req, uint8_t status)
{
	if (!req.status)
		return 0;
	uint64_t data = 0;
	if (status == VIRTIO_BLK_S_OK && req.type == VIRTIO_BLK_T_IN)
		data = req.data_len;
	else if (status == VIRTIO_BLK_S_OK && req.type == VIRTIO_BLK_T_GET_ID)
		data = std::min<uint64_t>(req.data_len, VIRTIO_BLK_ID_BYTES);
	return static_cast<uint32_t>(std::min<uint64_t>(data + 1, UINT32_MAX));
}

} // namespace vduse
