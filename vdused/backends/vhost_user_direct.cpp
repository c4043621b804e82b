#include "vhost_user_direct.h"

#include "vduse/bounce_memory.h"
#include "vduse/irq_affinity.h"
#include "virtio/vring.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace vduse
{

using namespace std::chrono_literals;

namespace
{

// How long a reset waits for what the target took (as the bridge's).
constexpr auto drain_wait = 8s;

// A scan of every ring after this long without a wake-up (ms).
constexpr int idle_scan_ms = 500;

constexpr uint64_t bit(unsigned n)
{
	return uint64_t{1} << n;
}

// Features that change the rings' layout or their use: the target must
// have each one the driver took.
constexpr uint64_t ring_features = bit(vring::f_indirect_desc) | bit(vring::f_event_idx) |
                                   bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_RING_PACKED) |
                                   bit(VIRTIO_F_IN_ORDER);

void signal_eventfd(int fd)
{
	uint64_t one = 1;
	if (::write(fd, &one, sizeof(one)) != sizeof(one))
		spdlog::warn("cannot write an eventfd: {}", std::strerror(errno));
}

} // namespace

Result<std::unique_ptr<VhostUserDirect>>
VhostUserDirect::open(const VduseDevice &device, Iotlb &iotlb, VhostUserLink &link,
                      const DeviceSpec &spec, const std::filesystem::path &record_path,
                      StatsFile &stats)
{
	auto depth = static_cast<uint16_t>(spec.queue_depth);
	size_t stride = (RingTracker::record_size(depth) + 7) & ~size_t{7};
	size_t size = stride * spec.queues;
	UniqueFd file(::open(record_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
	if (!file)
		return system_error(errno, record_path.string());
	struct stat st {
	};
	if (::fstat(file.get(), &st) < 0)
		return system_error(errno, record_path.string());
	// Another layout (the spec changed): start from nothing.
	if (static_cast<size_t>(st.st_size) != size &&
	    (::ftruncate(file.get(), 0) < 0 ||
	     ::ftruncate(file.get(), static_cast<off_t>(size)) < 0))
		return system_error(errno, record_path.string());
	void *memory = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, file.get(), 0);
	if (memory == MAP_FAILED)
		return system_error(errno, "cannot map " + record_path.string());
	Mapping record(memory, size);
	UniqueFd stop(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (!stop)
		return errno_error("cannot create an eventfd");
	auto direct = std::make_unique<VhostUserDirect>(device, iotlb, link, spec,
	                                                std::move(record), std::move(stop));
	BlkGeometry geometry = blk_geometry(spec);
	direct->rings_.reserve(spec.queues);
	for (uint32_t i = 0; i < spec.queues; ++i) {
		Ring ring{i,
		          {},
		          UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
		          UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
		          UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
		          RingTracker(static_cast<uint8_t *>(direct->record_.data()) + stride * i,
		                      depth),
		          {},
		          false,
		          DirectRingStats(stats.queue(i), geometry)};
		if (!ring.kick || !ring.target_kick || !ring.call)
			return errno_error("cannot create an eventfd");
		link.add_wake_fd(i, ring.call.get());
		direct->rings_.push_back(std::move(ring));
	}
	direct->thread_ = std::thread([d = direct.get()] { d->run(); });
	return direct;
}

VhostUserDirect::VhostUserDirect(const VduseDevice &device, Iotlb &iotlb, VhostUserLink &link,
                                 const DeviceSpec &spec, Mapping record, UniqueFd stop)
        : device_(device), iotlb_(iotlb), link_(link), spec_(spec), record_(std::move(record)),
          stop_(std::move(stop))
{
}

VhostUserDirect::~VhostUserDirect()
{
	if (thread_.joinable()) {
		signal_eventfd(stop_.get());
		thread_.join();
	}
}

Status VhostUserDirect::start(bool fresh)
{
	std::lock_guard lock(mutex_);
	if (spec_.driver != Driver::virtio)
		return failure(spec_.name +
		               ": direct rings serve the virtio driver (a block device "
		               "on this host) only; bind it to virtio or use the bridge");
	auto features = device_.negotiated_features();
	if (!features)
		return features.error();
	driver_features_ = *features;
	memory_.emplace(iotlb_);
	for (Ring &ring : rings_) {
		auto info = device_.queue_info(ring.index);
		if (!info)
			return info.error();
		ring.info = *info;
		ring.view = {};
		if (!ring.info.ready)
			continue;
		if (!map_ring(ring))
			return failure(spec_.name + ": queue " + std::to_string(ring.index) +
			               ": the kernel maps no memory at its rings");
		// A new driver session: the record of the last one means nothing.
		if (fresh)
			ring.tracker.reset(ring.info.split.avail_index);
		if (!ring.counter.attach(*memory_,
		                         {ring.info.desc_addr, ring.info.driver_addr,
		                          ring.info.device_addr,
		                          static_cast<uint16_t>(ring.info.num)},
		                         fresh))
			spdlog::warn(
			        "{}: queue {}: its descriptors are not mapped: stats count its "
			        "requests as 'other'",
			        spec_.name, ring.index);
		if (auto st = device_.set_kick_fd(ring.index, ring.kick.get()); !st)
			return st;
	}
	running_ = true;
	memory_handed_ = false;
	generation_ = 0;
	if (auto st = hand_memory_locked(); !st)
		return st;
	if (link_.connected()) {
		if (auto st = setup_locked(link_.generation()); !st)
			spdlog::warn("{}: {}; waiting for the target to connect again", spec_.name,
			             st.error().message);
	} else {
		spdlog::info("{}: the driver's rings go to the vhost-user target at {} when it "
		             "connects",
		             spec_.name, spec_.socket);
	}
	return {};
}

Status VhostUserDirect::hand_memory_locked()
{
	if (memory_handed_)
		return {};
	auto bounce = read_bounce_size(spec_.name);
	if (!bounce)
		return bounce.error();
	uint64_t last = *bounce - 1;
	UniqueFd domain;
	for (uint64_t from = 0;;) {
		auto entry = iotlb_.next_kernel_entry(from);
		if (!entry)
			break;
		if (entry->offset != entry->first ||
		    (domain && !Iotlb::same_file(domain.get(), entry->file.get())))
			return failure(spec_.name + ": IOVA region " +
			               std::to_string(entry->first) + "-" +
			               std::to_string(entry->last) +
			               " is not the kernel's bounce domain: direct rings serve the "
			               "virtio driver only");
		if (!domain)
			domain = std::move(entry->file);
		last = std::max(last, entry->last);
		if (entry->last == UINT64_MAX)
			break;
		from = entry->last + 1;
	}
	if (!domain)
		return failure(spec_.name + ": the kernel maps no rings for the driver");
	// One region from IOVA 0: the bounce buffer, whose pages exist before
	// the kernel makes its IOTLB entry at the first DMA mapping, and the
	// rings above it.
	VhostUserRegion region;
	region.guest_address = 0;
	region.size = last + 1;
	region.mmap_offset = 0;
	user_base_ = link_.add_driver_region(region, std::move(domain));
	memory_handed_ = true;
	return {};
}

Status VhostUserDirect::setup_locked(uint64_t generation)
{
	Status st = link_.on_connection(generation, [&](VhostUserClient &client) -> Status {
		uint64_t offered = client.target().features;
		uint64_t wanted = driver_features_ & ~bit(VIRTIO_F_ACCESS_PLATFORM);
		if (uint64_t missing = wanted & ring_features & ~offered)
			return failure("the target does not offer ring features " +
			               std::to_string(missing) + " that the driver took");
		wanted = (wanted & offered) | bit(vhost_user::f_protocol_features);
		if (auto s = client.set_features(wanted); !s)
			return s;
		for (Ring &ring : rings_) {
			if (!ring.info.ready)
				continue;
			VhostUserVring vring;
			vring.index = ring.index;
			vring.size = static_cast<uint16_t>(ring.info.num);
			vring.desc = user_base_ + ring.info.desc_addr;
			vring.avail = user_base_ + ring.info.driver_addr;
			vring.used = user_base_ + ring.info.device_addr;
			vring.kick = ring.target_kick.get();
			vring.call = ring.call.get();
			// What an earlier target took and did not finish goes to this
			// one again, from the used index on.
			auto restart = ring.tracker.make_available_again(ring.view, &ring.counter);
			if (restart)
				ring.counter.resubmitted(restart->outstanding);
			if (restart && restart->outstanding > 0)
				spdlog::info(
				        "{}: queue {}: {} request(s) the driver waits for made "
				        "available again from index {}",
				        spec_.name, ring.index, restart->outstanding,
				        restart->base);
			if (!restart) {
				restart = RingTracker::Restart{used_index(ring), 0};
				if (!std::exchange(ring.unknown_said, true))
					spdlog::error(
					        "{}: queue {}: which requests the last target held "
					        "is not known (more than a ring went by unseen); "
					        "those it did not finish are not sent again",
					        spec_.name, ring.index);
			}
			vring.base = restart->base;
			if (auto s = client.start_vring(vring); !s)
				return with_context("queue " + std::to_string(ring.index),
				                    s.error());
		}
		return {};
	});
	if (!st)
		return st;
	generation_ = generation;
	// Kicks and completions while no target had the rings (or no vdused
	// the call eventfds) were not seen: have the target look at each ring,
	// and the driver at each used ring (both harmless when spurious).
	for (Ring &ring : rings_) {
		if (!ring.info.ready)
			continue;
		signal_eventfd(ring.target_kick.get());
		// Spurious on a queue without requests, as on one whose CPUs
		// went offline since the driver started (blk-mq sends it none):
		// that interrupt must not find them all offline.
		keep_irq_affinity_online(spec_.name, ring.index);
		interrupt(ring);
	}
	spdlog::info("{}: the vhost-user target at {} serves the driver's rings", spec_.name,
	             spec_.socket);
	return {};
}

void VhostUserDirect::interrupt(Ring &ring) const
{
	// Nothing to tell a driver that is not running (yet: the rings are set
	// up while the kernel waits for our answer to DRIVER_OK).
	if (auto told = device_.inject_irq_if_running(ring.index); !told)
		spdlog::warn("{}", told.error().message);
	else if (*told)
		ring.counter.interrupted();
}

bool VhostUserDirect::map_ring(Ring &ring)
{
	auto avail = iotlb_.lookup(ring.info.driver_addr);
	auto used = iotlb_.lookup(ring.info.device_addr);
	uint64_t size = ring.info.num;
	if (!avail || !used || size == 0 || size > spec_.queue_depth || !avail->writable ||
	    ring.info.driver_addr - avail->first + vring::avail_bytes(size) >
	            avail->last - avail->first + 1 ||
	    ring.info.device_addr - used->first + vring::used_bytes(size) >
	            used->last - used->first + 1)
		return false;
	ring.view.avail = avail->base + (ring.info.driver_addr - avail->first);
	ring.view.used = used->base + (ring.info.device_addr - used->first);
	ring.view.size = static_cast<uint16_t>(size);
	return true;
}

uint16_t VhostUserDirect::used_index(const Ring &ring) const
{
	if (!ring.view.used)
		return 0;
	uint16_t index = 0;
	__atomic_load(reinterpret_cast<const uint16_t *>(ring.view.used + 2), &index,
	              __ATOMIC_ACQUIRE);
	return le16toh(index);
}

void VhostUserDirect::drain_locked(const std::vector<uint16_t> &bases)
{
	auto deadline = std::chrono::steady_clock::now() + drain_wait;
	auto drained = [&] {
		for (const Ring &ring : rings_)
			if (ring.info.ready && used_index(ring) != bases[ring.index])
				return false;
		return true;
	};
	while (!drained()) {
		if (std::chrono::steady_clock::now() >= deadline) {
			spdlog::warn("{}: the vhost-user target still holds requests {} s after it "
			             "was stopped; the connection is dropped",
			             spec_.name, drain_wait.count());
			link_.lost(generation_);
			break;
		}
		std::this_thread::sleep_for(1ms);
	}
}

void VhostUserDirect::stop()
{
	std::lock_guard lock(mutex_);
	if (!running_)
		return;
	running_ = false;
	std::vector<uint16_t> bases(rings_.size(), 0);
	bool stopped = generation_ != 0 &&
	               link_.on_connection(generation_, [&](VhostUserClient &client) -> Status {
		                    for (const Ring &ring : rings_) {
			                    if (!ring.info.ready)
				                    continue;
			                    auto base = client.stop_vring(ring.index);
			                    if (!base)
				                    return base.error();
			                    bases[ring.index] = *base;
		                    }
		                    return {};
	                    }).ok();
	if (stopped)
		drain_locked(bases);
	// A target that lost its connection may still be finishing requests
	// into the driver's memory until its process exits.
	auto deadline = std::chrono::steady_clock::now() + drain_wait;
	while (!link_.connected() && link_.targets_may_write() &&
	       std::chrono::steady_clock::now() < deadline)
		std::this_thread::sleep_for(10ms);
	link_.forget_unknown_targets();
	generation_ = 0;
}

void VhostUserDirect::run()
{
	std::vector<pollfd> fds;
	fds.push_back({stop_.get(), POLLIN, 0});
	for (const Ring &ring : rings_)
		fds.push_back({ring.call.get(), POLLIN, 0});
	for (const Ring &ring : rings_)
		fds.push_back({ring.kick.get(), POLLIN, 0});
	const size_t kicks = 1 + rings_.size();
	for (;;) {
		int ready = ::poll(fds.data(), fds.size(), idle_scan_ms);
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			spdlog::error("{}: poll: {}", spec_.name, std::strerror(errno));
			return;
		}
		if (fds[0].revents)
			return;
		std::lock_guard lock(mutex_);
		if (ready == 0) {
			// The target signals no completion the driver reaps in its
			// loop without an interrupt (it asks for none meanwhile):
			// stats catch up with those once the ring is quiet.
			for (Ring &ring : rings_)
				if (running_ && ring.info.ready)
					ring.tracker.scan(ring.view, &ring.counter);
			continue;
		}
		if (running_ && link_.connected() && link_.generation() != generation_) {
			if (auto st = setup_locked(link_.generation()); !st)
				spdlog::warn("{}: {}", spec_.name, st.error().message);
		}
		// Kicks go on only to the target the rings were set up on; one
		// that connects later is kicked once at its setup.
		bool serving = running_ && generation_ != 0 && link_.connected() &&
		               link_.generation() == generation_;
		for (size_t i = 1; i < fds.size(); ++i) {
			if (!fds[i].revents)
				continue;
			uint64_t count = 0;
			(void)::read(fds[i].fd, &count, sizeof(count));
			Ring &ring = rings_[(i - 1) % rings_.size()];
			if (!running_ || !ring.info.ready)
				continue;
			if (i >= kicks) {
				ring.counter.kicked(count);
				if (serving)
					signal_eventfd(ring.target_kick.get());
				// After the target has it: the scan (for stats) is not
				// on the request's way.
				ring.tracker.scan(ring.view, &ring.counter);
			} else {
				ring.tracker.scan(ring.view, &ring.counter);
				interrupt(ring);
			}
		}
	}
}

} // namespace vduse
