#include "blk_session.h"

#include "linux_vhost.h"
#include <cstring>
#include <linux/virtio_config.h>

namespace vduse::client
{

namespace
{

constexpr size_t page = 4096;

size_t round_page(size_t n)
{
	return (n + page - 1) / page * page;
}

struct Piece {
	uint8_t *addr;
	uint32_t len;
	bool device_writes;
};

} // namespace

const char *layout_name(Layout layout)
{
	switch (layout) {
	case Layout::simple:
		return "simple";
	case Layout::split:
		return "split";
	case Layout::merged:
		return "merged";
	case Layout::indirect:
		return "indirect";
	case Layout::unaligned:
		return "unaligned";
	}
	return "?";
}

Result<std::unique_ptr<BlkSession>> BlkSession::open(const std::string &path,
                                                     const SessionOptions &options)
{
	auto device = VhostVdpaDevice::open(path);
	if (!device)
		return device.error();
	uint16_t ring = device->max_ring_size();
	if (ring == 0 || options.depth == 0 || options.depth > ring)
		return failure(path + ": depth " + std::to_string(options.depth) +
		               " does not fit the device's rings of " + std::to_string(ring));
	// Room for rings twice the device's size (the hostile mode announces
	// one), then the slots, then a spare megabyte.
	size_t ring_bytes = DriverRing::bytes_needed(
	        static_cast<uint16_t>(std::min<uint32_t>(32768, uint32_t{ring} * 2)));
	size_t slot_bytes = page + round_page(options.max_io) + 2 * page;
	size_t total = ring_bytes * options.queues + slot_bytes * options.queues * options.depth +
	               BlkSession::spare_bytes;
	auto memory = DriverMemory::create(total, options.iova_base);
	if (!memory)
		return memory.error();
	auto session =
	        std::make_unique<BlkSession>(std::move(*device), std::move(*memory), options);
	for (uint32_t q = 0; q < options.queues; ++q)
		session->rings_.push_back(
		        std::make_unique<DriverRing>(session->memory_, ring_bytes * q, q, ring));
	uint8_t *slots = session->memory_.base() + ring_bytes * options.queues;
	for (uint32_t i = 0; i < options.queues * options.depth; ++i) {
		uint8_t *base = slots + slot_bytes * i;
		Slot slot;
		slot.header = base;
		slot.status = base + 64;
		slot.table = reinterpret_cast<vring::Desc *>(base + 1024);
		slot.data = base + 2 * page;
		session->slots_.push_back(slot);
	}
	session->spare_ = slots + slot_bytes * options.queues * options.depth;
	return session;
}

BlkSession::BlkSession(VhostVdpaDevice device, DriverMemory memory, const SessionOptions &options)
        : device_(std::move(device)), memory_(std::move(memory)), options_(options)
{
}

uint32_t BlkSession::block_size() const
{
	return has_feature(VIRTIO_BLK_F_BLK_SIZE) && config_.blk_size ? config_.blk_size : 512;
}

bool BlkSession::read_only() const
{
	return has_feature(VIRTIO_BLK_F_RO);
}

Status BlkSession::start_with(const RingOverride &ring0)
{
	auto bit = [](unsigned n) { return uint64_t{1} << n; };
	uint64_t wanted = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_ACCESS_PLATFORM) |
	                  bit(VIRTIO_BLK_F_SIZE_MAX) | bit(VIRTIO_BLK_F_SEG_MAX) |
	                  bit(VIRTIO_BLK_F_BLK_SIZE) | bit(VIRTIO_BLK_F_FLUSH) |
	                  bit(VIRTIO_BLK_F_MQ) | bit(VIRTIO_BLK_F_RO) | bit(VIRTIO_BLK_F_DISCARD) |
	                  bit(VIRTIO_BLK_F_WRITE_ZEROES) | bit(VIRTIO_BLK_F_TOPOLOGY);
	if (options_.indirect)
		wanted |= bit(vring::f_indirect_desc);
	if (auto st = device_.negotiate(wanted); !st)
		return st;
	auto cfg = device_.config();
	std::memcpy(&config_, cfg.data(), std::min(cfg.size(), sizeof(config_)));
	if (options_.queues > 1 &&
	    (!has_feature(VIRTIO_BLK_F_MQ) || config_.num_queues < options_.queues))
		return failure(
		        device_.path() + ": the device has " +
		        std::to_string(has_feature(VIRTIO_BLK_F_MQ) ? config_.num_queues : 1) +
		        " queue(s), " + std::to_string(options_.queues) + " asked");
	// A reset may leave the IOTLB as it was (vhost-vdpa keeps it with
	// IOTLB_PERSIST), and mapping a range twice is EEXIST: start empty.
	if (auto st = device_.unmap(0, UINT64_MAX); !st)
		return st;
	if (auto st = device_.map(memory_.iova_base(), memory_.size(), memory_.base(),
	                          VHOST_ACCESS_RW, options_.iotlb_chunk);
	    !st)
		return st;
	for (auto &ring : rings_) {
		bool first = ring->index() == 0;
		if (auto st = ring->attach(device_, first ? ring0.size : 0,
		                           first ? ring0.desc_iova : 0);
		    !st)
			return st;
	}
	return device_.driver_ok();
}

Status BlkSession::restart()
{
	if (auto st = device_.reset(); !st)
		return st;
	return start();
}

uint8_t *BlkSession::data_for(const Slot &slot, Layout layout, std::mt19937_64 &rng)
{
	if (layout != Layout::unaligned)
		return slot.data;
	return slot.data + 1 + rng() % 511;
}

std::optional<uint16_t> BlkSession::submit(uint32_t q, uint16_t k, const BlkCommand &cmd,
                                           Layout layout, std::mt19937_64 &rng)
{
	Slot &slot = this->slot(q, k);
	virtio_blk_outhdr header{cmd.type, 0, cmd.sector};
	bool device_writes_data = cmd.type == VIRTIO_BLK_T_IN || cmd.type == VIRTIO_BLK_T_GET_ID;
	std::vector<Piece> pieces;
	slot.answer = slot.status;
	if (layout == Layout::merged && cmd.len > 0 && !device_writes_data) {
		std::memcpy(cmd.data - sizeof(header), &header, sizeof(header));
		pieces.push_back({cmd.data - sizeof(header),
		                  static_cast<uint32_t>(cmd.len + sizeof(header)), false});
		pieces.push_back({slot.status, 1, true});
	} else if (layout == Layout::merged && cmd.len > 0) {
		std::memcpy(slot.header, &header, sizeof(header));
		pieces.push_back({slot.header, sizeof(header), false});
		pieces.push_back({cmd.data, cmd.len + 1, true});
		slot.answer = cmd.data + cmd.len;
	} else {
		std::memcpy(slot.header, &header, sizeof(header));
		pieces.push_back({slot.header, sizeof(header), false});
		if (cmd.len > 0 && (layout == Layout::split || layout == Layout::unaligned) &&
		    cmd.len > 1) {
			uint32_t parts = 2 + static_cast<uint32_t>(rng() % 3);
			uint32_t done = 0;
			for (uint32_t i = 0; i < parts && done < cmd.len; ++i) {
				uint32_t left = cmd.len - done;
				uint32_t len = i + 1 == parts
				                       ? left
				                       : 1 + static_cast<uint32_t>(rng() % left);
				pieces.push_back({cmd.data + done, len, device_writes_data});
				done += len;
			}
		} else if (cmd.len > 0) {
			pieces.push_back({cmd.data, cmd.len, device_writes_data});
		}
		pieces.push_back({slot.status, 1, true});
	}
	*slot.answer = stale_status;

	DriverRing &r = ring(q);
	auto fill = [&](vring::Desc &d, const Piece &p) {
		d.addr = memory_.iova(p.addr);
		d.len = p.len;
		d.flags = static_cast<uint16_t>((d.flags & vring::desc_f_next) |
		                                (p.device_writes ? vring::desc_f_write : 0));
	};
	if (layout == Layout::indirect && has_feature(vring::f_indirect_desc)) {
		auto ids = r.alloc(1);
		if (!ids)
			return std::nullopt;
		for (size_t i = 0; i < pieces.size(); ++i) {
			vring::Desc &d = slot.table[i];
			d.flags = i + 1 < pieces.size() ? vring::desc_f_next : 0;
			d.next = static_cast<uint16_t>(i + 1);
			fill(d, pieces[i]);
		}
		vring::Desc &d = r.desc((*ids)[0]);
		d.addr = memory_.iova(slot.table);
		d.len = static_cast<uint32_t>(pieces.size() * sizeof(vring::Desc));
		d.flags = vring::desc_f_indirect;
		slot.head = (*ids)[0];
	} else {
		auto ids = r.alloc(pieces.size());
		if (!ids)
			return std::nullopt;
		for (size_t i = 0; i < pieces.size(); ++i)
			fill(r.desc((*ids)[i]), pieces[i]);
		slot.head = (*ids)[0];
	}
	r.publish(slot.head);
	return slot.head;
}

} // namespace vduse::client
