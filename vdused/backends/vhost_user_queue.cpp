#include "vhost_user_queue.h"

#include "daemon_log.h"

#include <atomic>
#include <chrono>
#include <cstring>
#include <linux/virtio_blk.h>
#include <poll.h>
#include <sys/eventfd.h>

namespace vduse
{

namespace
{

constexpr size_t align_up(size_t n, size_t a)
{
	return (n + a - 1) / a * a;
}

// Descriptors per request: header, data, status. The driver's chain is at
// most blk_seg_max + 2 descriptors (blk_request.cpp); a buffer that crosses
// IOTLB regions becomes two, so leave room for that.
constexpr uint32_t indirect_descriptors = 2 * blk_seg_max + 4;

// How long a reset waits for a live target to answer the requests it has:
// the queues wait together, well inside the kernel's 30 s message timeout
// (drivers/vdpa/vdpa_user/vduse_dev.c, msg_timeout), past which the
// device is broken for good.
constexpr std::chrono::seconds reset_wait{8};

uint16_t load_acquire(const uint16_t *p)
{
	return std::atomic_ref<const uint16_t>(*p).load(std::memory_order_acquire);
}

void store_release(uint16_t *p, uint16_t v)
{
	std::atomic_ref<uint16_t>(*p).store(v, std::memory_order_release);
}

} // namespace

VhostUserQueue::Layout VhostUserQueue::layout(uint32_t depth, const BlkGeometry &geometry)
{
	Layout l;
	l.depth = depth;
	l.avail = sizeof(vring::Desc) * depth;
	l.used = align_up(l.avail + vring::avail_bytes(depth), 64);
	l.slots = align_up(l.used + vring::used_bytes(depth), 64);
	l.max_ranges = std::max(geometry.max_segments(false), geometry.max_segments(true));
	l.max_descriptors = indirect_descriptors;
	// A slot: the header (16 bytes), the status byte, the ranges, the table.
	l.ranges = 32;
	l.indirect =
	        align_up(l.ranges + sizeof(virtio_blk_discard_write_zeroes) * l.max_ranges, 16);
	l.slot_stride = align_up(l.indirect + sizeof(vring::Desc) * l.max_descriptors, 64);
	l.total = align_up(l.slots + l.slot_stride * depth, 4096);
	return l;
}

Result<std::unique_ptr<QueueBackend>>
VhostUserQueue::open(VhostUserLink &link, const DeviceSpec &spec, uint32_t index, uint32_t depth)
{
	Layout l = layout(depth, blk_geometry(spec));
	std::string label = spec.name + ": queue " + std::to_string(index);
	auto memory = shadow_memory(index, l.total);
	if (!memory)
		return with_context(label, memory.error());
	UniqueFd kick(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	UniqueFd call(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (!kick || !call)
		return with_context(label, errno_error("cannot create eventfds"));
	auto queue = std::make_unique<VhostUserQueue>(link, index, l, std::move(memory->first),
	                                              std::move(memory->second), std::move(kick),
	                                              std::move(call));
	link.add_queue(index, queue->shadow_region(), queue->call_.get());
	return std::unique_ptr<QueueBackend>(std::move(queue));
}

Result<std::pair<UniqueFd, Mapping>> VhostUserQueue::shadow_memory(uint32_t index, size_t size)
{
	return VhostUserLink::ring_memory("vdused-vhost-user-" + std::to_string(index), size);
}

VhostUserRegion VhostUserQueue::shadow_region() const
{
	VhostUserRegion shadow;
	shadow.guest_address = own_guest_base_;
	shadow.size = layout_.total;
	shadow.user_address = reinterpret_cast<uint64_t>(mapping_.data());
	shadow.fd = memory_.get();
	return shadow;
}

bool VhostUserQueue::renew_shadow(uint64_t generation)
{
	auto memory = shadow_memory(index_, layout_.total);
	if (!memory) {
		log_->warn("cannot make new ring memory: {}", memory.error().message);
		return false;
	}
	std::swap(memory_, memory->first);
	std::swap(mapping_, memory->second);
	if (!link_.replace_shadow(generation, shadow_region())) {
		std::swap(memory_, memory->first);
		std::swap(mapping_, memory->second);
		return false;
	}
	if (!pool_)
		base_ = static_cast<uint8_t *>(mapping_.data());
	// The old memory stays with the target that may still write it.
	log_->info("new ring memory for the new connection: the target torn down at the reset "
	           "keeps the old");
	return true;
}

VhostUserQueue::VhostUserQueue(VhostUserLink &link, uint32_t index, const Layout &layout,
                               UniqueFd memory, Mapping mapping, UniqueFd kick, UniqueFd call)
        : link_(link), index_(index), layout_(layout), memory_(std::move(memory)),
          mapping_(std::move(mapping)), kick_(std::move(kick)), call_(std::move(call)),
          own_guest_base_(shadow_guest_base + shadow_guest_stride * index),
          base_(static_cast<uint8_t *>(mapping_.data())), guest_base_(own_guest_base_),
          log_(queue_logger(link.device_name(), index)), slots_(layout.depth)
{
}

std::optional<GuestRange> VhostUserQueue::guest_range(const void *address)
{
	uint64_t version = link_.regions_version();
	if (version != ranges_version_) {
		ranges_.clear();
		ranges_version_ = version;
	}
	const auto *p = static_cast<const uint8_t *>(address);
	auto inside = [&](const GuestRange &r) {
		return p >= r.base && static_cast<uint64_t>(p - r.base) < r.size;
	};
	for (const GuestRange &r : ranges_)
		if (inside(r))
			return r;
	auto range = link_.guest_range(address);
	if (!range || !inside(*range))
		return std::nullopt;
	ranges_.push_back(*range);
	return range;
}

std::optional<uint8_t> VhostUserQueue::submit(const BlkRequest &request, uint16_t tag)
{
	if (tag >= slots_.size())
		return VIRTIO_BLK_S_IOERR;
	Slot &slot = slots_[tag];
	slot.request = &request;
	// Nothing to do: an empty discard is answered here.
	if ((request.type == VIRTIO_BLK_T_DISCARD || request.type == VIRTIO_BLK_T_WRITE_ZEROES) &&
	    request.ranges.empty())
		return VIRTIO_BLK_S_OK;
	if (generation_ != link_.generation() && link_.connected())
		restart(failed_);
	if (generation_ == 0 || generation_ != link_.generation() || !link_.connected()) {
		slot.state = SlotState::held;
		++in_flight_;
		return std::nullopt;
	}
	if (auto status = post(tag))
		return status;
	slot.state = SlotState::sent;
	++in_flight_;
	return std::nullopt;
}

std::optional<uint8_t> VhostUserQueue::post(uint16_t tag)
{
	const BlkRequest &req = *slots_[tag].request;
	size_t slot = layout_.slots + layout_.slot_stride * tag;
	auto *table = reinterpret_cast<vring::Desc *>(at(slot + layout_.indirect));
	uint32_t n = 0;
	// The header is vdused's copy: the driver cannot change the request
	// under the target once it was checked.
	virtio_blk_outhdr header{};
	header.type = req.type;
	header.sector = (req.type == VIRTIO_BLK_T_IN || req.type == VIRTIO_BLK_T_OUT)
	                        ? req.offset / 512
	                        : 0;
	std::memcpy(at(slot), &header, sizeof(header));
	table[n++] = {guest_of(slot), sizeof(header), 0, 0};
	if (req.type == VIRTIO_BLK_T_IN || req.type == VIRTIO_BLK_T_OUT) {
		uint16_t flags = req.type == VIRTIO_BLK_T_IN ? vring::desc_f_write : 0;
		// A buffer is cut where its IOTLB entries meet: two entries next
		// to each other in our address space need not be in IOVA.
		for (const iovec &v : req.data) {
			const auto *p = static_cast<const uint8_t *>(v.iov_base);
			size_t left = v.iov_len;
			while (left > 0) {
				auto range = guest_range(p);
				if (!range) {
					log_->error(
					        "a buffer at {} is not in memory the target was "
					        "given",
					        static_cast<const void *>(p));
					return VIRTIO_BLK_S_IOERR;
				}
				if (n + 2 > layout_.max_descriptors) {
					log_->warn(
					        "a request in more than {} pieces is more than the "
					        "bridge forwards",
					        layout_.max_descriptors - 2);
					return VIRTIO_BLK_S_IOERR;
				}
				auto into = static_cast<uint64_t>(p - range->base);
				size_t piece = std::min<uint64_t>(left, range->size - into);
				table[n++] = {range->guest + into, static_cast<uint32_t>(piece),
				              flags, 0};
				p += piece;
				left -= piece;
			}
		}
	} else if (req.type == VIRTIO_BLK_T_DISCARD || req.type == VIRTIO_BLK_T_WRITE_ZEROES) {
		if (req.ranges.size() > layout_.max_ranges)
			return VIRTIO_BLK_S_IOERR;
		auto *ranges = reinterpret_cast<virtio_blk_discard_write_zeroes *>(
		        at(slot + layout_.ranges));
		for (size_t i = 0; i < req.ranges.size(); ++i) {
			const BlkRange &r = req.ranges[i];
			ranges[i] = {};
			ranges[i].sector = r.offset / 512;
			ranges[i].num_sectors = static_cast<uint32_t>(r.length / 512);
			ranges[i].flags = r.unmap ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0;
		}
		table[n++] = {guest_of(slot + layout_.ranges),
		              static_cast<uint32_t>(sizeof(*ranges) * req.ranges.size()), 0, 0};
	} else if (req.type != VIRTIO_BLK_T_FLUSH) {
		return VIRTIO_BLK_S_UNSUPP;
	}
	// A status the target never writes reads as an error, not as success.
	*at(slot + 16) = VIRTIO_BLK_S_IOERR;
	table[n++] = {guest_of(slot + 16), 1, vring::desc_f_write, 0};
	for (uint32_t i = 0; i + 1 < n; ++i) {
		table[i].flags |= vring::desc_f_next;
		table[i].next = static_cast<uint16_t>(i + 1);
	}
	auto *desc = reinterpret_cast<vring::Desc *>(at(0));
	desc[tag] = {guest_of(slot + layout_.indirect),
	             static_cast<uint32_t>(sizeof(vring::Desc) * n), vring::desc_f_indirect, 0};
	auto *avail_ring = reinterpret_cast<uint16_t *>(at(layout_.avail + 4));
	avail_ring[avail_idx_ % layout_.depth] = tag;
	++avail_idx_;
	pending_kick_ = true;
	return std::nullopt;
}

void VhostUserQueue::flush()
{
	if (!pending_kick_)
		return;
	pending_kick_ = false;
	store_release(reinterpret_cast<uint16_t *>(at(layout_.avail + 2)), avail_idx_);
	// The target reads the used flags after it publishes; order our avail
	// index before our read of them (virtio 1.2, 2.7.10).
	std::atomic_thread_fence(std::memory_order_seq_cst);
	uint16_t used_flags = load_acquire(reinterpret_cast<uint16_t *>(at(layout_.used)));
	if (used_flags & vring::used_f_no_notify)
		return;
	uint64_t one = 1;
	if (::write(kick_.get(), &one, sizeof(one)) != sizeof(one))
		log_->warn("cannot kick the target: {}", std::strerror(errno));
}

void VhostUserQueue::harvest(std::vector<Completion> &out)
{
	if (generation_ == 0)
		return;
	const auto *elems = reinterpret_cast<const vring::UsedElem *>(at(layout_.used + 4));
	uint16_t idx = used_index();
	// A target that claims more than a ring's worth is broken: take a
	// ring's worth, the rest shows as ids not in flight.
	for (unsigned n = 0; last_used_ != idx && n < layout_.depth; ++n, ++last_used_) {
		uint32_t id = elems[last_used_ % layout_.depth].id;
		if (id >= slots_.size() || slots_[id].state != SlotState::sent) {
			if (bad_used_++ < 10)
				log_->warn("the target completed descriptor {}, which is not in "
				           "flight",
				           id);
			continue;
		}
		uint8_t status = *at(layout_.slots + layout_.slot_stride * id + 16);
		if (status > VIRTIO_BLK_S_UNSUPP)
			status = VIRTIO_BLK_S_IOERR;
		finish(static_cast<uint16_t>(id), status, out);
	}
}

void VhostUserQueue::finish(uint16_t tag, uint8_t status, std::vector<Completion> &out)
{
	slots_[tag].state = SlotState::idle;
	--in_flight_;
	out.push_back({tag, status});
}

void VhostUserQueue::restart(std::vector<Completion> &out)
{
	uint64_t generation = link_.generation();
	if (generation == torn_down_)
		return;
	harvest(out);
	if (!move_ring(generation))
		return;
	std::memset(at(0), 0, layout_.slots);
	quiet_ = false; // the flags are clear again
	avail_idx_ = 0;
	last_used_ = 0;
	VhostUserVring vring;
	vring.index = index_;
	vring.size = static_cast<uint16_t>(layout_.depth);
	vring.desc = reinterpret_cast<uint64_t>(at(0));
	vring.avail = reinterpret_cast<uint64_t>(at(layout_.avail));
	vring.used = reinterpret_cast<uint64_t>(at(layout_.used));
	vring.kick = kick_.get();
	vring.call = call_.get();
	if (!link_.start_vring(generation, vring))
		return;
	generation_ = generation;
	unsigned again = 0;
	for (size_t i = 0; i < slots_.size(); ++i) {
		auto tag = static_cast<uint16_t>(i);
		Slot &slot = slots_[i];
		if (slot.state == SlotState::idle)
			continue;
		++again;
		if (auto status = post(tag))
			finish(tag, *status, out);
		else
			slot.state = SlotState::sent;
	}
	if (again > 0)
		log_->info("{} request(s) sent to the target again", again);
	flush();
}

bool VhostUserQueue::move_ring(uint64_t generation)
{
	auto slice = link_.ring_slice(generation, index_);
	if (!slice)
		return false;
	if (slice->pool) {
		// A target without memory slots: the connection's own pool, so
		// an earlier target never shares ring memory with this one.
		if (slice->pool->slice < layout_.total) {
			log_->error("the connection's ring memory has {} bytes per queue, not {}",
			            slice->pool->slice, layout_.total);
			return false;
		}
		pool_ = std::move(slice->pool);
		base_ = slice->data;
		guest_base_ = slice->guest;
		return true;
	}
	// A target we tore down while it held requests may still write its
	// answers into the old ring: the new connection gets new memory.
	if (torn_down_ != 0) {
		if (!renew_shadow(generation))
			return false;
		torn_down_ = 0;
	}
	pool_.reset();
	base_ = static_cast<uint8_t *>(mapping_.data());
	guest_base_ = own_guest_base_;
	return true;
}

void VhostUserQueue::let_go(const char *what)
{
	unsigned never_sent = 0;
	unsigned sent = 0;
	for (size_t i = 0; i < slots_.size(); ++i) {
		if (slots_[i].state == SlotState::held) {
			finish(static_cast<uint16_t>(i), VIRTIO_BLK_S_IOERR, failed_);
			++never_sent;
		} else if (slots_[i].state == SlotState::sent) {
			++sent;
		}
	}
	if (never_sent > 0)
		log_->info("{} request(s) never sent to a target are dropped", never_sent);
	if (sent == 0)
		return;
	// The target reads and writes the driver's buffers itself, through
	// the memory it was handed, and vhost-user has no message that takes
	// a request back: what it has may land until it answers or its
	// process exits. Wait for that, but answer the kernel in time.
	using clock = std::chrono::steady_clock;
	auto start = clock::now();
	auto deadline = start + reset_wait;
	bool gave_up = false;
	(void)arm_completions();
	for (;;) {
		harvest(failed_);
		if (in_flight_ == 0 || !link_.targets_may_write())
			break;
		if (clock::now() >= deadline) {
			gave_up = true;
			break;
		}
		pollfd fd{call_.get(), POLLIN, 0};
		(void)::poll(&fd, 1, 50);
		uint64_t count;
		(void)!::read(call_.get(), &count, sizeof(count));
	}
	auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
	unsigned left = in_flight_;
	for (size_t i = 0; i < slots_.size(); ++i)
		if (slots_[i].state == SlotState::sent)
			finish(static_cast<uint16_t>(i), VIRTIO_BLK_S_IOERR, failed_);
	if (gave_up) {
		// Its ring still holds them: a later request in the same slot
		// must not take their answer. A new connection starts a new ring.
		link_.lost(generation_);
		link_.forget_unknown_targets();
		torn_down_ = generation_;
		generation_ = 0;
		log_->error("the target at {} kept {} request(s) for {} ms after {}: the "
		            "connection is torn down and {} answered; vhost-user cannot take a "
		            "request back, so a target that resumes may still carry them out, "
		            "reads into memory the driver may use for something else",
		            link_.socket_path(), left, ms.count(), what, what);
	} else if (left > 0) {
		log_->info("{} request(s) the target had are dropped: its process is gone ({} ms)",
		           left, ms.count());
	} else {
		log_->info("the target answered what it had in {} ms", ms.count());
	}
}

uint16_t VhostUserQueue::used_index()
{
	return load_acquire(reinterpret_cast<const uint16_t *>(at(layout_.used + 2)));
}

void VhostUserQueue::set_avail_flags(uint16_t flags)
{
	store_release(reinterpret_cast<uint16_t *>(at(layout_.avail)), flags);
}

void VhostUserQueue::quiet_completions()
{
	if (quiet_ || generation_ == 0)
		return;
	quiet_ = true;
	set_avail_flags(vring::avail_f_no_interrupt);
}

bool VhostUserQueue::arm_completions()
{
	if (!quiet_)
		return true;
	quiet_ = false;
	set_avail_flags(0);
	// The target publishes its used index, then reads our flags (virtio
	// 1.2, 2.7.10): order our flags before our look at the index, so that
	// a completion either sees them clear or is seen here.
	std::atomic_thread_fence(std::memory_order_seq_cst);
	uint64_t count;
	(void)!::read(call_.get(), &count, sizeof(count));
	if (generation_ == 0)
		return true;
	return used_index() == last_used_;
}

void VhostUserQueue::prepare()
{
	// Nothing in flight: nothing for restart() to answer or send again.
	if (in_flight_ == 0 && generation_ != link_.generation() && link_.connected())
		restart(failed_);
}

void VhostUserQueue::reap(std::vector<Completion> &out, bool wait)
{
	for (;;) {
		// While quiet, the target does not signal: nothing to read.
		if (!quiet_) {
			uint64_t count;
			(void)!::read(call_.get(), &count, sizeof(count));
		}
		if (!failed_.empty()) {
			out.insert(out.end(), failed_.begin(), failed_.end());
			failed_.clear();
		}
		harvest(out);
		if (generation_ != link_.generation() && link_.connected())
			restart(out);
		if (!out.empty() || !wait || in_flight_ == 0)
			return;
		if (!arm_completions())
			continue;
		pollfd fd{call_.get(), POLLIN, 0};
		(void)::poll(&fd, 1, -1);
	}
}

} // namespace vduse
