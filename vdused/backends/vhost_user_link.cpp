#include "vhost_user_link.h"

#include "base/pidfd.h"
#include "base/socket_peer.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>

namespace vduse
{

using namespace std::chrono_literals;

namespace
{
constexpr size_t max_past_targets = 16;
// Direct rings: every other driver region at this much above
// driver_user_base (add_driver_region says why).
constexpr uint64_t driver_user_alternate = uint64_t{1} << 48;
} // namespace

VhostUserLink::VhostUserLink(const DeviceSpec &spec, LinkReporter &reporter, size_t ring_bytes)
        : spec_(spec), reporter_(reporter),
          target_changed_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)), ring_bytes_(ring_bytes)
{
}

VhostUserLink::~VhostUserLink()
{
	if (thread_.joinable()) {
		uint64_t one = 1;
		if (::write(stop_fd_.get(), &one, sizeof(one)) != sizeof(one))
			spdlog::error("{}: cannot stop the vhost-user thread: {}", spec_.name,
			              std::strerror(errno));
		thread_.join();
	}
}

Status VhostUserLink::start()
{
	stop_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (!stop_fd_)
		return errno_error("cannot create an eventfd");
	reporter_.report(0, LinkState::connecting);
	thread_ = std::thread([this] { run(); });
	return {};
}

VhostUserLink::Region VhostUserLink::shadow_copy(const VhostUserRegion &shadow)
{
	Region r{shadow, UniqueFd(::fcntl(shadow.fd, F_DUPFD_CLOEXEC, 0)), true};
	r.region.fd = r.file.get();
	return r;
}

void VhostUserLink::add_queue(uint32_t index, const VhostUserRegion &shadow, int call_fd)
{
	std::lock_guard lock(mutex_);
	regions_.push_back(shadow_copy(shadow));
	region_added_locked();
	queues_.push_back({index, call_fd});
}

uint64_t VhostUserLink::add_driver_region(VhostUserRegion region, UniqueFd file)
{
	std::lock_guard lock(mutex_);
	// Started again with no invalidation between (a driver that stopped
	// without a reset): the target has it already.
	auto known = std::find_if(regions_.begin(), regions_.end(), [&](const Region &r) {
		return !r.shadow && r.region.guest_address == region.guest_address &&
		       r.region.size == region.size;
	});
	if (known != regions_.end())
		return known->region.user_address;
	// Each new driver region at another user address than the one before.
	// VDUSE frees a reset driver's rings without taking their pages out of
	// the mappings of its domain file (drivers/vdpa/vdpa_user/
	// iova_domain.c, vduse_domain_free_coherent), and the next driver's
	// rings may come at the same IOVAs: a target has to map the file
	// again. DPDK keeps its mapping when a table looks like the last one
	// (lib/vhost/vhost_user.c, vhost_memory_changed: guest address, size
	// and user address), and then served the old rings' pages.
	region.user_address =
	        driver_user_base + (driver_regions_added_++ % 2) * driver_user_alternate;
	Region r{region, std::move(file), false};
	r.region.fd = r.file.get();
	regions_.push_back(std::move(r));
	region_added_locked();
	return region.user_address;
}

void VhostUserLink::add_wake_fd(uint32_t index, int fd)
{
	std::lock_guard lock(mutex_);
	queues_.push_back({index, fd});
}

Status VhostUserLink::on_connection(uint64_t generation,
                                    const std::function<Status(VhostUserClient &)> &fn)
{
	std::lock_guard lock(mutex_);
	if (!client_ || generation != generation_.load(std::memory_order_acquire))
		return failure("the connection to the vhost-user target at " + spec_.socket +
		               " is gone");
	Status st = fn(*client_);
	if (!st)
		fail_locked(st.error().message);
	return st;
}

Result<uint64_t> VhostUserLink::target_size()
{
	std::lock_guard lock(mutex_);
	if (!client_)
		return failure("no vhost-user target is connected at " + spec_.socket);
	if (Status st = client_->read_config(); !st) {
		fail_locked(st.error().message);
		return st.error();
	}
	uint64_t capacity = client_->target().config.capacity;
	if (capacity == 0 || capacity > UINT64_MAX / 512)
		return failure("the vhost-user target at " + spec_.socket +
		               " reports a capacity of " + std::to_string(capacity) + " sectors");
	return capacity * 512;
}

void VhostUserLink::set_device_size(uint64_t size_bytes)
{
	std::lock_guard lock(mutex_);
	spec_.size_bytes = size_bytes;
}

void VhostUserLink::run()
{
	auto backoff = 50ms;
	// The thread's view of the connection, kept without mutex_: client_ is
	// set and reset only here (connect_locked, drop_locked), and the
	// control thread may hold mutex_ while it waits for the target
	// (GET_CONFIG), which may first wait for our answer on the back-end
	// channel: this thread must reach it without taking mutex_.
	int socket = -1;
	for (;;) {
		if (socket < 0) {
			// The handshake waits for the target (up to 5 s for one that
			// is stopped): not under mutex_, which the control thread
			// needs to answer the kernel in time (UPDATE_IOTLB, reset).
			auto client = VhostUserClient::connect(spec_.socket, 5s,
			                                       spec_.socket_owner_uid, true);
			std::lock_guard lock(mutex_);
			// Each new reason once (a target that is down, then a
			// socket served by the wrong user, ...).
			Status st = client ? connect_locked(std::move(*client))
			                   : Status(client.error());
			if (!st && st.error().message != last_failure_) {
				last_failure_ = st.error().message;
				spdlog::warn("{}: {}; retrying", spec_.name, last_failure_);
			}
			if (client_)
				socket = client_->fd();
		}
		int channel = channel_ ? channel_->fd() : -1;
		std::array<pollfd, 3> fds{{{stop_fd_.get(), POLLIN, 0},
		                           {socket, POLLRDHUP, 0},
		                           {channel, POLLIN, 0}}};
		int timeout = socket >= 0 ? -1 : static_cast<int>(backoff.count());
		if (socket < 0)
			backoff = std::min<std::chrono::milliseconds>(backoff * 2, 2s);
		else
			backoff = 50ms;
		// A negative fd is not polled (poll(2)).
		if (::poll(fds.data(), socket >= 0 ? 3 : 1, timeout) < 0 && errno != EINTR) {
			spdlog::error("{}: poll: {}", spec_.name, std::strerror(errno));
			return;
		}
		if (fds[0].revents & POLLIN)
			return;
		if (socket >= 0 && fds[1].revents) {
			std::lock_guard lock(mutex_);
			drop_locked("the target closed the connection");
			socket = -1;
			continue;
		}
		// Not under mutex_: a target may wait for our answer there before
		// it answers a message the control thread sent under it.
		if (channel >= 0 && fds[2].revents)
			serve_channel();
	}
}

void VhostUserLink::serve_channel()
{
	if (!channel_)
		return;
	auto events = channel_->serve();
	if (!events) {
		// The connection goes on: only the size is no longer followed.
		spdlog::warn("{}: {}; its disk's size is followed again at the next connection, "
		             "or with vdusectl resize {}",
		             spec_.name, events.error().message, spec_.name);
		channel_.reset();
		reporter_.set_follows_target_size(false);
		return;
	}
	if (events->refused > 0)
		spdlog::debug("{}: the vhost-user target sent {} back-end message(s) vdused does "
		              "not follow",
		              spec_.name, events->refused);
	if (events->config_changes > 0) {
		spdlog::info("{}: the vhost-user target at {} says its config changed", spec_.name,
		             spec_.socket);
		tell_target_changed();
	}
}

void VhostUserLink::tell_target_changed()
{
	uint64_t one = 1;
	if (::write(target_changed_.get(), &one, sizeof(one)) != sizeof(one))
		spdlog::warn("{}: cannot wake the control thread: {}", spec_.name,
		             std::strerror(errno));
}

Status VhostUserLink::connect_locked(VhostUserClient client)
{
	const VhostUserTarget &target = client.target();
	uint64_t capacity = target.config.capacity;
	if (capacity < spec_.size_bytes / 512)
		return failure("the vhost-user target at " + spec_.socket + " now has " +
		               std::to_string(capacity * 512) + " bytes, fewer than the device's " +
		               std::to_string(spec_.size_bytes));
	if (!target.has(VIRTIO_BLK_F_MQ) && spec_.queues > 1)
		return failure("the vhost-user target at " + spec_.socket +
		               " no longer serves several queues");
	// The driver was told the target's limits at add; a target that came
	// back with smaller ones may fail what the driver sends within them.
	BlkGeometry told = blk_geometry(spec_);
	if (target.has(VIRTIO_BLK_F_SEG_MAX) && target.config.seg_max > 0 &&
	    target.config.seg_max < told.data_segments())
		spdlog::warn("{}: the vhost-user target at {} now takes {} segments per request, "
		             "fewer than the {} the driver was told: larger requests may fail",
		             spec_.name, spec_.socket, target.config.seg_max, told.data_segments());
	if (auto st = client.check_memory_messages(spec_.rings == "direct" || bounce_ != nullptr);
	    !st)
		return st;
	if (auto st = client.set_features(vhost_user_wanted_features(target.features)); !st)
		return st;
	pool_.reset();
	if (target.memory_slots()) {
		for (Region &r : regions_)
			if (auto st = client.add_region(r.region); !st)
				return st;
	} else {
		if (spec_.rings != "direct") {
			auto pool = make_ring_pool();
			if (!pool)
				return pool.error();
			pool_ = std::move(*pool);
		}
		if (auto st = client.set_mem_table(table_locked()); !st)
			return st;
	}
	{
		std::lock_guard targets(targets_mutex_);
		current_target_ = unix_peer_pidfd(client.fd());
	}
	max_slots_ = target.max_mem_slots;
	vrings_started_ = 0;
	channel_.reset();
	if (UniqueFd channel = client.take_backend_channel())
		channel_.emplace(std::move(channel), "vhost-user target at " + spec_.socket);
	client_ = std::move(client);
	connected_.store(true, std::memory_order_release);
	uint64_t generation = generation_.fetch_add(1, std::memory_order_acq_rel) + 1;
	reporter_.set_follows_target_size(channel_.has_value());
	// A target that grew while no vdused was connected (or in the moment
	// between a killed vdused's resize and its record write) could tell
	// nobody: a target whose size is followed is followed from here.
	// (A capacity past 2^64 bytes is the follower's to refuse, by name.)
	uint64_t bytes = capacity <= UINT64_MAX / 512 ? capacity * 512 : UINT64_MAX;
	if (channel_ && whole_blocks(spec_, bytes) > spec_.size_bytes) {
		spdlog::info("{}: the vhost-user target at {} has {} sectors, more than the "
		             "device's {} bytes: following it",
		             spec_.name, spec_.socket, capacity, spec_.size_bytes);
		tell_target_changed();
	}
	reporter_.report(0, LinkState::connected);
	spdlog::info("{}: connected to the vhost-user target at {}{}", spec_.name, spec_.socket,
	             generation > 1 ? " again" : "");
	last_failure_.clear();
	wake_queues_locked();
	return {};
}

void VhostUserLink::wake_queues_locked()
{
	uint64_t one = 1;
	for (const Queue &q : queues_)
		if (::write(q.call_fd, &one, sizeof(one)) != sizeof(one))
			spdlog::warn("{}: cannot wake queue {}: {}", spec_.name, q.index,
			             std::strerror(errno));
}

void VhostUserLink::drop_locked(const std::string &why)
{
	if (!client_)
		return;
	spdlog::warn("{}: vhost-user target at {}: {}; holding requests until it is back",
	             spec_.name, spec_.socket, why);
	client_.reset();
	channel_.reset();
	connected_.store(false, std::memory_order_release);
	{
		std::lock_guard targets(targets_mutex_);
		past_targets_.push_back(std::move(current_target_));
		// The same process served several connections (we dropped
		// them): its latest pidfd is enough.
		if (past_targets_.size() > max_past_targets)
			past_targets_.erase(past_targets_.begin());
	}
	reporter_.report(0, LinkState::reconnecting);
}

void VhostUserLink::fail_locked(const std::string &why)
{
	// Only the thread closes the socket: it may be polling it.
	if (!client_)
		return;
	spdlog::warn("{}: vhost-user target at {}: {}", spec_.name, spec_.socket, why);
	(void)::shutdown(client_->fd(), SHUT_RDWR);
}

void VhostUserLink::lost(uint64_t generation)
{
	std::lock_guard lock(mutex_);
	// The thread sees the hang-up and reconnects.
	if (client_ && generation == generation_.load(std::memory_order_acquire))
		(void)::shutdown(client_->fd(), SHUT_RDWR);
}

bool VhostUserLink::targets_may_write()
{
	if (connected())
		return true;
	std::lock_guard lock(targets_mutex_);
	std::erase_if(past_targets_, [](const UniqueFd &pidfd) { return process_exited(pidfd); });
	return !past_targets_.empty();
}

void VhostUserLink::forget_unknown_targets()
{
	std::lock_guard lock(targets_mutex_);
	std::erase_if(past_targets_, [](const UniqueFd &pidfd) { return !pidfd; });
}

bool VhostUserLink::replace_shadow(uint64_t generation, const VhostUserRegion &shadow)
{
	std::lock_guard lock(mutex_);
	auto old = std::find_if(regions_.begin(), regions_.end(), [&](const Region &r) {
		return r.shadow && r.region.guest_address == shadow.guest_address;
	});
	if (old == regions_.end() || !client_ ||
	    generation != generation_.load(std::memory_order_acquire))
		return false;
	Region r = shadow_copy(shadow);
	// Only a connection to a target with memory slots gets here: a
	// target without them has the queues' rings in its connection's own
	// RingPool, which is new at each connection (VhostUserQueue::move_ring).
	if (auto st = client_->remove_region(old->region); !st) {
		fail_locked(st.error().message);
		return false;
	}
	*old = std::move(r);
	if (auto st = client_->add_region(old->region); !st) {
		fail_locked(st.error().message);
		return false;
	}
	return true;
}

Result<std::pair<UniqueFd, Mapping>> VhostUserLink::ring_memory(const std::string &name,
                                                                size_t size)
{
	UniqueFd file(::memfd_create(name.c_str(), MFD_CLOEXEC));
	if (!file)
		return errno_error("memfd_create");
	if (::ftruncate(file.get(), static_cast<off_t>(size)) < 0)
		return errno_error("cannot size the ring memory");
	void *addr = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, file.get(), 0);
	if (addr == MAP_FAILED)
		return errno_error("cannot map the ring memory");
	return std::pair{std::move(file), Mapping(addr, size)};
}

Result<std::shared_ptr<const RingPool>> VhostUserLink::make_ring_pool() const
{
	size_t slice = (ring_bytes_ + 4095) / 4096 * 4096;
	auto memory = ring_memory("vdused-vhost-user-rings", slice * spec_.queues);
	if (!memory)
		return memory.error();
	auto pool = std::make_shared<RingPool>();
	pool->file = std::move(memory->first);
	pool->mapping = std::move(memory->second);
	pool->guest_address = ring_pool_guest_base;
	pool->slice = slice;
	return std::shared_ptr<const RingPool>(std::move(pool));
}

std::optional<RingSlice> VhostUserLink::ring_slice(uint64_t generation, uint32_t index)
{
	std::lock_guard lock(mutex_);
	if (!client_ || generation != generation_.load(std::memory_order_acquire))
		return std::nullopt;
	if (!pool_)
		return RingSlice{};
	if (index >= spec_.queues)
		return std::nullopt;
	return RingSlice{pool_,
	                 static_cast<uint8_t *>(pool_->mapping.data()) + pool_->slice * index,
	                 pool_->guest_address + pool_->slice * index};
}

bool VhostUserLink::start_vring(uint64_t generation, const VhostUserVring &vring)
{
	std::lock_guard lock(mutex_);
	if (!client_ || generation != generation_.load(std::memory_order_acquire))
		return false;
	// The target knows only the table this connection began with.
	auto start = reinterpret_cast<uint64_t>(pool_ ? pool_->mapping.data() : nullptr);
	if (pool_ && (vring.desc < start || vring.used >= start + pool_->mapping.size())) {
		fail_locked("queue " + std::to_string(vring.index) +
		            ": its ring is not in the memory this connection's table holds");
		return false;
	}
	if (auto st = client_->start_vring(vring); !st) {
		fail_locked("queue " + std::to_string(vring.index) + ": " + st.error().message);
		return false;
	}
	++vrings_started_;
	return true;
}

namespace
{

// IOTLB entries joined into one target region at most: a VM's memory in
// small entries would otherwise take more memory slots than a target has
// (libvhost-user: 32 in QEMU 7.2).
constexpr unsigned max_joined_entries = 65536;

} // namespace

std::optional<GuestRange> VhostUserLink::guest_range(const void *address)
{
	std::lock_guard lock(mutex_);
	if (!iotlb_)
		return std::nullopt;
	auto shared = iotlb_->find_mapped(address);
	if (!shared)
		return std::nullopt;
	const Iotlb::RegionView &view = shared->view;
	// The queue turns its pointers into IOVAs by IOTLB entry.
	GuestRange entry{view.base, view.last - view.first + 1, view.first};
	uint64_t iova = view.first +
	                static_cast<uint64_t>(static_cast<const uint8_t *>(address) - view.base);
	auto covers = [&](const Region &r) {
		return !r.shadow && r.region.guest_address <= iova &&
		       iova <= r.region.guest_address + r.region.size - 1;
	};
	auto overlaps = [&](uint64_t first, uint64_t last) {
		return std::any_of(regions_.begin(), regions_.end(), [&](const Region &r) {
			return !r.shadow && r.region.guest_address <= last &&
			       first <= r.region.guest_address + r.region.size - 1;
		});
	};
	if (client_ && !client_->target().memory_slots()) {
		// Its one table was whole at the connection (table_locked): the
		// bounce memory holds every request's data, unless the kernel's
		// pages serve the bounce region (fenced after a reset).
		if (bounce_ && view.base == bounce_->data() && view.first == 0)
			return entry;
		if (!std::exchange(outside_bounce_said_, true))
			spdlog::error(
			        "{}: IOVA region {:#x}-{:#x} is not the bounce memory, and the "
			        "vhost-user target at {} takes no memory while it serves (no "
			        "CONFIGURE_MEM_SLOTS): a request in it fails (logged once)",
			        spec_.name, view.first, view.last, spec_.socket);
		return std::nullopt;
	}
	if (std::any_of(regions_.begin(), regions_.end(), covers))
		return entry;
	if (view.last >= shadow_guest_base) {
		spdlog::error(
		        "{}: IOVA region {:#x}-{:#x} overlaps the bridge's own rings at {:#x}",
		        spec_.name, view.first, view.last, shadow_guest_base);
		return std::nullopt;
	}
	// One region for the run of entries around it that map one file
	// contiguously, as a VM's memory does, however the IOTLB cuts it.
	uint64_t first = view.first;
	uint64_t last = view.last;
	uint64_t offset = shared->offset;
	UniqueFd file = std::move(shared->file);
	auto joins = [&](const Iotlb::SharedRegion &next) {
		return next.view.readable == view.readable && next.view.writable == view.writable &&
		       Iotlb::same_file(next.file.get(), file.get()) &&
		       !overlaps(next.view.first, next.view.last);
	};
	for (unsigned n = 0; n < max_joined_entries && last + 1 < shadow_guest_base; ++n) {
		auto next = iotlb_->find_iova(last + 1);
		if (!next || next->offset != offset + (last - first + 1) || !joins(*next))
			break;
		last = next->view.last;
	}
	for (unsigned n = 0; n < max_joined_entries && first > 0; ++n) {
		auto prev = iotlb_->find_iova(first - 1);
		if (!prev || prev->offset + (prev->view.last - prev->view.first + 1) != offset ||
		    !joins(*prev))
			break;
		first = prev->view.first;
		offset = prev->offset;
	}
	if (max_slots_ > 0 && regions_.size() >= max_slots_) {
		auto driver_regions = std::count_if(regions_.begin(), regions_.end(),
		                                    [](const Region &r) { return !r.shadow; });
		if (!std::exchange(slots_full_said_, true))
			spdlog::error(
			        "{}: the vhost-user target at {} takes {} memory regions and has "
			        "them all ({} of the driver's memory): a request in IOVA "
			        "{:#x}-{:#x} fails (logged once)",
			        spec_.name, spec_.socket, max_slots_, driver_regions, first, last);
		return std::nullopt;
	}
	Region r;
	r.region.guest_address = first;
	r.region.size = last - first + 1;
	// Only the rings are found by user address, and they are in the
	// queues' own regions: an address no mapping of ours has keeps a
	// target from ever confusing the two.
	r.region.user_address = driver_user_base + first;
	r.region.mmap_offset = offset;
	r.file = std::move(file);
	r.region.fd = r.file.get();
	regions_.push_back(std::move(r));
	region_added_locked();
	return entry;
}

void VhostUserLink::invalidate(uint64_t first, uint64_t last)
{
	std::lock_guard lock(mutex_);
	auto gone = [&](const Region &r) {
		uint64_t end = r.region.guest_address + r.region.size - 1;
		return !r.shadow && r.region.guest_address <= last && end >= first;
	};
	bool slots = client_ && client_->target().memory_slots();
	for (const Region &r : regions_) {
		if (!gone(r) || !slots)
			continue;
		if (auto st = client_->remove_region(r.region); !st)
			fail_locked(st.error().message);
	}
	auto removed = std::erase_if(regions_, gone);
	version_.fetch_add(1, std::memory_order_acq_rel);
	// Direct rings only, whose target serves no vring now (they were
	// stopped before the kernel changed the memory). No empty table: a
	// target with stopped rings does not touch the old one, and QEMU never
	// sends one (how DPDK takes it is not known); the next start replaces it.
	if (client_ && !slots && removed > 0 && !regions_.empty() && spec_.rings == "direct")
		if (auto st = client_->set_mem_table(table_locked()); !st)
			fail_locked(st.error().message);
}

std::vector<VhostUserRegion> VhostUserLink::table_locked() const
{
	// The bridge without bounce memory is refused such a target
	// (check_memory_messages); the driver's regions it found are for
	// targets with slots.
	bool bridge = spec_.rings != "direct";
	std::vector<VhostUserRegion> table;
	table.reserve(regions_.size() + 1);
	if (bridge && pool_) {
		VhostUserRegion rings;
		rings.guest_address = pool_->guest_address;
		rings.size = pool_->mapping.size();
		rings.user_address = reinterpret_cast<uint64_t>(pool_->mapping.data());
		rings.mmap_offset = 0;
		rings.fd = pool_->file.get();
		table.push_back(rings);
	}
	for (const Region &r : regions_)
		if (!bridge && !r.shadow)
			table.push_back(r.region);
	if (bridge && bounce_) {
		// Guest address = IOVA, as guest_range() gives the bounce region.
		VhostUserRegion bounce;
		bounce.guest_address = 0;
		bounce.size = bounce_->size();
		bounce.user_address = driver_user_base;
		bounce.mmap_offset = 0;
		bounce.fd = bounce_->fd();
		table.push_back(bounce);
	}
	return table;
}

bool VhostUserLink::send_table_locked(const std::string &why)
{
	if (vrings_started_ > 0) {
		fail_locked(why + ": a target without memory slots gets its new table at a new "
		                  "connection, not under the requests it serves");
		return false;
	}
	if (auto st = client_->set_mem_table(table_locked()); !st) {
		fail_locked(st.error().message);
		return false;
	}
	return true;
}

bool VhostUserLink::region_added_locked()
{
	if (!client_)
		return true;
	if (!client_->target().memory_slots())
		return pooled_locked() || send_table_locked("a new memory region");
	Status st = client_->add_region(regions_.back().region);
	if (!st)
		fail_locked(st.error().message);
	return st.ok();
}

} // namespace vduse
