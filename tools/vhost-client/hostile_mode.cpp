// A driver that breaks the rules on purpose. Every case builds one bad ring
// or request on queue 0 and checks what the device does with it:
//   answered: completed with the expected status at the real status byte,
//             used length 1, no data buffer touched; a normal request
//             after it completes;
//   stopped:  not completed, and neither is a normal request after it
//             (the queue waits for a reset); after a reset the device works;
//   refused:  the device does not take the ring (setup or DRIVER_OK fails);
//             after a reset with a good ring it works.
#include "modes.h"

#include "linux_vhost.h"
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <thread>
#include <variant>

namespace vduse::client
{

namespace
{

using Clock = std::chrono::steady_clock;

enum class Outcome { answered, stopped, refused };

const char *outcome_name(Outcome o)
{
	switch (o) {
	case Outcome::answered:
		return "answered";
	case Outcome::stopped:
		return "stopped";
	case Outcome::refused:
		return "refused";
	}
	return "?";
}

constexpr uint8_t poison = 0x5a;

// What a case built: the head it offered, where the status byte is, and the
// buffers the device must not write.
struct Offered {
	std::string problem; // the case found it already
	uint16_t head = 0;
	uint8_t *status = nullptr;
	std::vector<std::pair<uint8_t *, size_t>> untouched;
};

class Hostile
{
public:
	Hostile(BlkSession &s, bool server_down) : s_(s), server_down_(server_down), rng_(42) {}

	BlkSession &s_;
	bool server_down_; // good requests are held, not answered
	std::mt19937_64 rng_;
	std::vector<DriverMemory> extra_; // memory of cases, kept while the device may map it

	DriverRing &ring() { return s_.ring(0); }
	Slot &slot(uint16_t k = 0) { return s_.slot(0, k); }
	uint64_t iova(const void *p) { return s_.memory().iova(p); }

	void header(uint8_t *at, uint32_t type, uint64_t sector)
	{
		virtio_blk_outhdr h{type, 0, sector};
		std::memcpy(at, &h, sizeof(h));
	}
	// Descriptors d[i] = {addr, len, flags}, linked in order (NEXT added).
	struct D {
		uint64_t addr;
		uint32_t len;
		uint16_t flags;
	};
	uint16_t chain(const std::vector<D> &ds)
	{
		auto ids = ring().alloc(ds.size());
		for (size_t i = 0; i < ds.size(); ++i) {
			vring::Desc &d = ring().desc((*ids)[i]);
			d.addr = ds[i].addr;
			d.len = ds[i].len;
			d.flags = static_cast<uint16_t>(
			        ds[i].flags | (i + 1 < ds.size() ? vring::desc_f_next : 0));
			d.next = i + 1 < ds.size() ? (*ids)[i + 1] : 0;
		}
		return (*ids)[0];
	}
	// A read of one block: header | data (poisoned) | status.
	Offered read_request(uint64_t sector, uint64_t data_iova, uint32_t len)
	{
		Offered o;
		header(slot().header, VIRTIO_BLK_T_IN, sector);
		*slot().status = stale_status;
		o.status = slot().status;
		o.head = chain({{iova(slot().header), 16, 0},
		                {data_iova, len, vring::desc_f_write},
		                {iova(slot().status), 1, vring::desc_f_write}});
		return o;
	}
	Offered poisoned_read(uint64_t sector)
	{
		std::memset(slot().data, poison, 4096);
		Offered o = read_request(sector, iova(slot().data), s_.block_size());
		o.untouched.push_back({slot().data, s_.block_size()});
		return o;
	}
	Offered segments(uint32_t type, const std::vector<virtio_blk_discard_write_zeroes> &segs)
	{
		Offered o;
		header(slot().header, type, 0);
		std::memcpy(slot().data, segs.data(), segs.size() * sizeof(segs[0]));
		*slot().status = stale_status;
		o.status = slot().status;
		o.head = chain({{iova(slot().header), 16, 0},
		                {iova(slot().data),
		                 static_cast<uint32_t>(segs.size() * sizeof(segs[0])), 0},
		                {iova(slot().status), 1, vring::desc_f_write}});
		return o;
	}
	void offer(uint16_t head)
	{
		ring().publish(head);
		ring().force_kick();
	}
	// Waits for the completion of head; false if none came in time.
	bool wait_for(uint16_t head, int ms, uint32_t &len)
	{
		auto until = Clock::now() + std::chrono::milliseconds(ms);
		while (Clock::now() < until) {
			while (auto used = ring().next_used()) {
				ring().release_chain(static_cast<uint16_t>(used->id));
				if (used->id == head) {
					len = used->len;
					return true;
				}
			}
			ring().wait_call(50);
		}
		return false;
	}
	// A good 4 KiB read at sector 0; true if it completes with OK.
	bool normal_request(int ms) { return offer_normal_request(ms) == VIRTIO_BLK_S_OK; }
	// The same with the server down: true if it stays unanswered for ms
	// (it reached the backend, which holds it).
	bool held_request(int ms) { return offer_normal_request(ms) == no_answer; }
	// With the server down, a good request is held if no answer came in
	// this long: a wrong one (an error) comes at once.
	static constexpr int held_ms = 300;
	// A request the device must leave unanswered (a stopped queue): no
	// answer in this long counts as none. A served request is answered in
	// well under a millisecond, a few under TCG; the wait only ever lets a
	// late wrong answer through, never fails a right device.
	static constexpr int silence_ms = 300;
	static constexpr int no_answer = -1;
	// Offers the good read; its status, or no_answer after ms.
	int offer_normal_request(int ms)
	{
		Slot &good = slot(1);
		header(good.header, VIRTIO_BLK_T_IN, 0);
		*good.status = stale_status;
		auto ids = ring().alloc(3);
		if (!ids)
			return VIRTIO_BLK_S_IOERR;
		uint16_t h = (*ids)[0];
		ring().desc((*ids)[0]) = {iova(good.header), 16, vring::desc_f_next, (*ids)[1]};
		ring().desc((*ids)[1]) = {iova(good.data), s_.block_size(),
		                          vring::desc_f_next | vring::desc_f_write, (*ids)[2]};
		ring().desc((*ids)[2]) = {iova(good.status), 1, vring::desc_f_write, 0};
		offer(h);
		uint32_t len = 0;
		return wait_for(h, ms, len) ? *good.status : no_answer;
	}
};

struct Case {
	const char *name;
	Outcome expect;
	uint8_t status; // for answered
	// Builds and offers the bad request; returns it (head unused for
	// ring-level cases), or an error text if the case cannot run here.
	std::function<std::variant<Offered, std::string>(Hostile &)> run;
};

std::vector<Case> cases(bool async_backend, bool target_process)
{
	constexpr uint16_t W = vring::desc_f_write;
	std::vector<Case> list = {
	        {"chain-loop", Outcome::stopped, 0,
	         [](Hostile &h) -> std::variant<Offered, std::string> {
		         Offered o = h.poisoned_read(0);
		         // The data descriptor links back to the header.
		         vring::Desc &data = h.ring().desc(h.ring().desc(o.head).next);
		         data.next = o.head;
		         h.offer(o.head);
		         return o;
	         }},
	        {"next-out-of-range", Outcome::stopped, 0,
	         [](Hostile &h) -> std::variant<Offered, std::string> {
		         Offered o = h.poisoned_read(0);
		         h.ring().desc(o.head).next = static_cast<uint16_t>(h.ring().size() + 5);
		         h.offer(o.head);
		         return o;
	         }},
	        {"avail-index-jump", Outcome::stopped, 0,
	         [](Hostile &h) -> std::variant<Offered, std::string> {
		         // The entry and the jumped index become visible at once: a
		         // device polling the ring never sees the request alone.
		         Offered o = h.poisoned_read(0);
		         h.ring().place(o.head);
		         uint16_t idx =
		                 static_cast<uint16_t>(h.ring().shadow_avail() + h.ring().size());
		         h.ring().set_shadow_avail(idx);
		         std::atomic_ref<uint16_t>(*h.ring().avail_idx())
		                 .store(idx, std::memory_order_release);
		         h.ring().force_kick();
		         return o;
	         }},
	        {"head-out-of-range", Outcome::stopped, 0,
	         [](Hostile &h) -> std::variant<Offered, std::string> {
		         Offered o = h.poisoned_read(0);
		         h.ring().avail_ring()[h.ring().shadow_avail() % h.ring().size()] =
		                 static_cast<uint16_t>(h.ring().size() + 1);
		         uint16_t idx = static_cast<uint16_t>(h.ring().shadow_avail() + 1);
		         h.ring().set_shadow_avail(idx);
		         *h.ring().avail_idx() = idx;
		         h.ring().force_kick();
		         return o;
	         }},
	        {"data-unmapped", Outcome::answered, VIRTIO_BLK_S_IOERR,
	         [](Hostile &h) -> std::variant<Offered, std::string> {
		         Offered o = h.read_request(0, 0x7000000000, h.s_.block_size());
		         h.offer(o.head);
		         return o;
	         }},
	        {"data-runs-past-the-mapping", Outcome::answered, VIRTIO_BLK_S_IOERR,
	         [](Hostile &h) -> std::variant<Offered, std::string> {
		         uint8_t *end = h.s_.memory().base() + h.s_.memory().size();
		         std::memset(end - 2048, poison, 2048);
		         Offered o = h.read_request(0, h.iova(end - 2048), 8192);
		         o.untouched.push_back({end - 2048, 2048});
		         h.offer(o.head);
		         return o;
	         }},
	        {"length-near-4g", Outcome::answered, VIRTIO_BLK_S_IOERR,
	         [](Hostile &h) -> std::variant<Offered, std::string> {
		         std::memset(h.slot().data, poison, 4096);
		         Offered o = h.read_request(0, h.iova(h.slot().data), 0xffffff00);
		         o.untouched.push_back({h.slot().data, 4096});
		         h.offer(o.head);
		         return o;
	         }},
	        {"header-in-writable-buffer", Outcome::answered, VIRTIO_BLK_S_IOERR,
	         [](Hostile &h) -> std::variant<Offered, std::string> {
		         Offered o;
		         h.header(h.slot().header, VIRTIO_BLK_T_IN, 0);
		         std::memset(h.slot().data, poison, 4096);
		         *h.slot().status = stale_status;
		         o.status = h.slot().status;
		         o.untouched.push_back({h.slot().data, 4096});
		         o.head = h.chain({{h.iova(h.slot().header), 16, W},
		                           {h.iova(h.slot().data), 4096, W},
		                           {h.iova(h.slot().status), 1, W}});
		         h.offer(o.head);
		         return o;
	         }},
	        {"status-zero-length", Outcome::stopped, 0,
	         [](Hostile &h) -> std::variant<Offered, std::string> {
		         Offered o = h.poisoned_read(0);
		         vring::Desc &data = h.ring().desc(h.ring().desc(o.head).next);
		         h.ring().desc(data.next).len = 0;
		         h.offer(o.head);
		         return o;
	         }},
	        {"status-readable", Outcome::stopped, 0,
	         [](Hostile &h) -> std::variant<Offered, std::string> {
		         Offered o = h.poisoned_read(0);
		         vring::Desc &data = h.ring().desc(h.ring().desc(o.head).next);
		         h.ring().desc(data.next).flags = 0;
		         h.offer(o.head);
		         return o;
	         }},
	        {"sector-past-the-end", Outcome::answered, VIRTIO_BLK_S_IOERR,
	         [](Hostile &h) -> std::variant<Offered, std::string> {
		         Offered o = h.poisoned_read(h.s_.config().capacity);
		         h.offer(o.head);
		         return o;
	         }},
	        {"sector-near-2^64", Outcome::answered, VIRTIO_BLK_S_IOERR,
	         [](Hostile &h) -> std::variant<Offered, std::string> {
		         Offered o = h.poisoned_read(UINT64_MAX - 7);
		         h.offer(o.head);
		         return o;
	         }},
	        {"unknown-request-type", Outcome::answered, VIRTIO_BLK_S_UNSUPP,
	         [](Hostile &h) -> std::variant<Offered, std::string> {
		         Offered o = h.poisoned_read(0);
		         h.header(h.slot().header, 99, 0);
		         h.offer(o.head);
		         return o;
	         }},
	        {"discard-empty-segment", Outcome::answered, VIRTIO_BLK_S_OK,
	         [](Hostile &h) -> std::variant<Offered, std::string> {
		         if (!h.s_.has_feature(VIRTIO_BLK_F_DISCARD))
			         return std::string("the device has no DISCARD");
		         Offered o = h.segments(VIRTIO_BLK_T_DISCARD, {{0, 0, 0}});
		         h.offer(o.head);
		         return o;
	         }},
	        {"discard-unaligned", Outcome::answered, VIRTIO_BLK_S_IOERR,
	         [](Hostile &h) -> std::variant<Offered, std::string> {
		         if (!h.s_.has_feature(VIRTIO_BLK_F_DISCARD) || h.s_.block_size() == 512)
			         return std::string("needs DISCARD and a block size over 512");
		         Offered o = h.segments(VIRTIO_BLK_T_DISCARD, {{1, 8, 0}});
		         h.offer(o.head);
		         return o;
	         }},
	        {"discard-past-the-end", Outcome::answered, VIRTIO_BLK_S_IOERR,
	         [](Hostile &h) -> std::variant<Offered, std::string> {
		         if (!h.s_.has_feature(VIRTIO_BLK_F_DISCARD))
			         return std::string("the device has no DISCARD");
		         Offered o = h.segments(VIRTIO_BLK_T_DISCARD,
		                                {{h.s_.config().capacity - 8, 16, 0}});
		         h.offer(o.head);
		         return o;
	         }},
	        {"discard-too-many-segments", Outcome::answered, VIRTIO_BLK_S_IOERR,
	         [](Hostile &h) -> std::variant<Offered, std::string> {
		         if (!h.s_.has_feature(VIRTIO_BLK_F_DISCARD))
			         return std::string("the device has no DISCARD");
		         uint32_t n = h.s_.config().max_discard_seg + 1;
		         std::vector<virtio_blk_discard_write_zeroes> segs;
		         for (uint32_t i = 0; i < n; ++i)
			         segs.push_back({uint64_t{i} * 8, 8, 0});
		         Offered o = h.segments(VIRTIO_BLK_T_DISCARD, segs);
		         h.offer(o.head);
		         return o;
	         }},
	        {"write-zeroes-unknown-flag", Outcome::answered, VIRTIO_BLK_S_UNSUPP,
	         [](Hostile &h) -> std::variant<Offered, std::string> {
		         if (!h.s_.has_feature(VIRTIO_BLK_F_WRITE_ZEROES))
			         return std::string("the device has no WRITE_ZEROES");
		         Offered o = h.segments(VIRTIO_BLK_T_WRITE_ZEROES, {{0, 8, 0x80}});
		         h.offer(o.head);
		         return o;
	         }},
	        {"indirect-nested", Outcome::stopped, 0,
	         [](Hostile &h) -> std::variant<Offered, std::string> {
		         vring::Desc *t = h.slot().table;
		         t[0] = {h.iova(t + 2), 48, vring::desc_f_indirect, 0};
		         Offered o;
		         o.head = h.chain({{h.iova(t), 16, vring::desc_f_indirect}});
		         h.offer(o.head);
		         return o;
	         }},
	        {"indirect-bad-length", Outcome::stopped, 0,
	         [](Hostile &h) -> std::variant<Offered, std::string> {
		         Offered o;
		         o.head = h.chain({{h.iova(h.slot().table), 24, vring::desc_f_indirect}});
		         h.offer(o.head);
		         return o;
	         }},
	        {"indirect-unmapped", Outcome::stopped, 0,
	         [](Hostile &h) -> std::variant<Offered, std::string> {
		         Offered o;
		         o.head = h.chain({{0x7000000000, 48, vring::desc_f_indirect}});
		         h.offer(o.head);
		         return o;
	         }},
	        {"indirect-straddles-iotlb-entries", Outcome::answered, VIRTIO_BLK_S_OK,
	         [](Hostile &h) -> std::variant<Offered, std::string> {
		         uint64_t chunk = h.s_.options().iotlb_chunk;
		         if (chunk == 0)
			         return std::string("needs --iotlb-chunk");
		         // A table of three descriptors across an entry boundary.
		         uint64_t spare = h.iova(h.s_.spare()) - h.s_.memory().iova_base();
		         uint64_t boundary = (spare + chunk - 1) / chunk * chunk;
		         auto *t = h.s_.memory().at<vring::Desc>(boundary - 16);
		         h.header(h.slot().header, VIRTIO_BLK_T_IN, 0);
		         *h.slot().status = stale_status;
		         t[0] = {h.iova(h.slot().header), 16, vring::desc_f_next, 1};
		         t[1] = {h.iova(h.slot().data), h.s_.block_size(),
		                 vring::desc_f_next | vring::desc_f_write, 2};
		         t[2] = {h.iova(h.slot().status), 1, vring::desc_f_write, 0};
		         Offered o;
		         o.status = h.slot().status;
		         o.head = h.chain({{h.iova(t), 48, vring::desc_f_indirect}});
		         h.offer(o.head);
		         return o;
	         }},
	        {"data-past-the-memory-file-end", Outcome::answered, VIRTIO_BLK_S_IOERR,
	         [](Hostile &h) -> std::variant<Offered, std::string> {
		         // A VMM whose memfd is shorter than the region it maps: the
		         // read's buffer lies past the file's end (SIGBUS to touch).
		         constexpr uint64_t alias = 0x5000000000;
		         constexpr size_t region = 1u << 20;
		         auto memory = DriverMemory::create(region, alias);
		         if (!memory)
			         return memory.error().message;
		         if (auto st = memory->truncate_file(4096); !st)
			         return st.error().message;
		         if (auto st = h.s_.device().map(alias, region, memory->base(),
		                                         VHOST_ACCESS_RW, 0);
		             !st)
			         return st.error().message;
		         h.extra_.push_back(std::move(*memory));
		         Offered o = h.read_request(0, alias + region / 2, h.s_.block_size());
		         h.offer(o.head);
		         return o;
	         }},
	        {"iotlb-entry-not-readable", Outcome::answered, VIRTIO_BLK_S_IOERR,
	         [](Hostile &h) -> std::variant<Offered, std::string> {
		         if (h.s_.read_only())
			         return std::string("needs a writable device");
		         // The data of a write lies in an entry the device may only write.
		         constexpr uint64_t alias = 0x6000000000;
		         if (auto st = h.s_.device().map(alias, 1u << 20, h.s_.spare(),
		                                         VHOST_ACCESS_WO, 0);
		             !st)
			         return st.error().message;
		         Offered o;
		         h.header(h.slot().header, VIRTIO_BLK_T_OUT, 0);
		         *h.slot().status = stale_status;
		         o.status = h.slot().status;
		         o.head = h.chain({{h.iova(h.slot().header), 16, 0},
		                           {alias, h.s_.block_size(), 0},
		                           {h.iova(h.slot().status), 1, W}});
		         h.offer(o.head);
		         return o;
	         }},
	};
	// A VMM whose memory is in more files than a vhost-user target has
	// memory slots (qemu-storage-daemon: 32): the requests whose buffer
	// needs a slot beyond them fail (IOERR), and the device goes on serving.
	// vdused alone has no such limit: every read is answered OK.
	list.push_back(
	        {"memory-in-more-files-than-target-slots", Outcome::answered,
	         target_process ? uint8_t{VIRTIO_BLK_S_IOERR} : uint8_t{VIRTIO_BLK_S_OK},
	         [](Hostile &h) -> std::variant<Offered, std::string> {
		         if (h.server_down_)
			         return std::string("its reads need the server, which is down");
		         constexpr uint64_t alias = 0x7000000000;
		         constexpr size_t region = 64u << 10;
		         constexpr unsigned files = 40;
		         Offered o;
		         // The VM's main memory is in use first, as it would be.
		         if (!h.normal_request(3000)) {
			         o.problem = "a normal request before it did not complete";
			         return o;
		         }
		         for (unsigned i = 0; i < files; ++i) {
			         uint64_t at = alias + uint64_t{i} * (1u << 20);
			         auto memory = DriverMemory::create(region, at);
			         if (!memory)
				         return memory.error().message;
			         if (auto st = h.s_.device().map(at, region, memory->base(),
			                                         VHOST_ACCESS_RW, 0);
			             !st)
				         return st.error().message;
			         h.extra_.push_back(std::move(*memory));
			         o = h.read_request(0, at, h.s_.block_size());
			         h.offer(o.head);
			         if (i + 1 == files)
				         break;
			         // The earlier ones only take their slots.
			         uint32_t len = 0;
			         if (!h.wait_for(o.head, 3000, len)) {
				         o.problem = "read " + std::to_string(i) +
				                     " in a file of its own was not answered";
				         return o;
			         }
		         }
		         return o;
	         }});
	// A VMM that shrinks its memory file after the device mapped it: the
	// device's next touch past the new end faults (SIGBUS; with direct I/O
	// the kernel says EFAULT, and the data is staged and copied by the
	// device). The queue must stop, and the device never die. A target
	// process that reads into it gets EFAULT: the request fails.
	list.push_back({"memory-file-shrunk-after-mapping",
	                target_process ? Outcome::answered : Outcome::stopped,
	                target_process ? uint8_t{VIRTIO_BLK_S_IOERR} : uint8_t{0},
	                [](Hostile &h) -> std::variant<Offered, std::string> {
		                if (h.server_down_)
			                return std::string(
			                        "its first read needs the server, which is down");
		                constexpr uint64_t alias = 0x5800000000;
		                constexpr size_t region = 1u << 20;
		                auto memory = DriverMemory::create(region, alias);
		                if (!memory)
			                return memory.error().message;
		                if (auto st = h.s_.device().map(alias, region, memory->base(),
		                                                VHOST_ACCESS_RW, 0);
		                    !st)
			                return st.error().message;
		                // Whole when the device maps it: the first read works.
		                Offered first =
		                        h.read_request(0, alias + region / 2, h.s_.block_size());
		                h.offer(first.head);
		                uint32_t len = 0;
		                if (!h.wait_for(first.head, 3000, len) ||
		                    *first.status != VIRTIO_BLK_S_OK) {
			                first.problem = "the read before the file shrank failed";
			                return first;
		                }
		                if (auto st = memory->truncate_file(4096); !st)
			                return st.error().message;
		                h.extra_.push_back(std::move(*memory));
		                Offered o =
		                        h.read_request(0, alias + region / 2, h.s_.block_size());
		                h.offer(o.head);
		                return o;
	                }});
	if (async_backend)
		list.push_back({"head-offered-twice", Outcome::stopped, 0,
		                [](Hostile &h) -> std::variant<Offered, std::string> {
			                // The second offer comes while the first is in
			                // the backend's hands: the first is answered,
			                // then the queue stops.
			                Offered o = h.read_request(0, h.iova(h.slot().data),
			                                           h.s_.options().max_io);
			                // Both offers in one update of the avail index.
			                uint16_t idx = h.ring().shadow_avail();
			                uint16_t size = h.ring().size();
			                h.ring().avail_ring()[idx % size] = o.head;
			                h.ring().avail_ring()[(idx + 1) % size] = o.head;
			                h.ring().set_shadow_avail(static_cast<uint16_t>(idx + 2));
			                *h.ring().avail_idx() = static_cast<uint16_t>(idx + 2);
			                h.ring().force_kick();
			                // The first offer is a good request: answered once.
			                uint32_t len = 0;
			                if (!h.wait_for(o.head, 3000, len) ||
			                    *o.status != VIRTIO_BLK_S_OK)
				                o.problem = "the first offer was not answered";
			                o.status = nullptr;
			                return o;
		                }});
	return list;
}

bool untouched(const Offered &o)
{
	for (auto [p, n] : o.untouched)
		for (size_t i = 0; i < n; ++i)
			if (p[i] != poison)
				return false;
	return true;
}

// Resets the device; with the server down (a good request held), the
// reset must be answered within the limit. Returns what went wrong, or "".
std::string timed_restart(BlkSession &s, const HostileOptions &options)
{
	auto start = Clock::now();
	if (auto st = s.restart(); !st)
		return "reset: " + st.error().message;
	auto ms =
	        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
	if (options.server_down && ms > options.reset_limit_ms)
		return "the reset with a request held for the server took " + std::to_string(ms) +
		       " ms";
	return "";
}

// One case; returns "" if it behaved as expected, else what went wrong.
std::string run_case(BlkSession &s, const Case &c, const HostileOptions &options,
                     bool &not_applicable)
{
	if (options.server_down && c.expect == Outcome::answered && c.status == VIRTIO_BLK_S_OK) {
		not_applicable = true;
		return "its answer comes from the server, which is down";
	}
	Hostile h(s, options.server_down);
	auto built = c.run(h);
	if (auto *why = std::get_if<std::string>(&built)) {
		not_applicable = true;
		return *why;
	}
	Offered o = std::get<Offered>(built);
	if (!o.problem.empty())
		return o.problem;
	uint32_t len = 0;
	bool answered =
	        h.wait_for(o.head, c.expect == Outcome::answered ? 3000 : Hostile::silence_ms, len);
	std::string problem;
	if (c.expect == Outcome::answered) {
		if (!answered)
			return "no answer in 3 s";
		if (!o.status || *o.status != c.status)
			problem = "status " + std::to_string(o.status ? *o.status : -1) +
			          ", expected " + std::to_string(c.status);
		else if (len != 1 && c.status != VIRTIO_BLK_S_OK)
			problem = "used length " + std::to_string(len) + ", expected 1";
		else if (!untouched(o))
			problem = "a data buffer was written";
		else if (options.server_down ? !h.held_request(Hostile::held_ms)
		                             : !h.normal_request(3000))
			problem = options.server_down
			                  ? "a normal request after it was answered with the "
			                    "server down"
			                  : "a normal request after it did not complete";
		return problem;
	}
	if (answered)
		return "it was answered (status " + std::to_string(o.status ? *o.status : -1) + ")";
	if (o.status && *o.status != stale_status)
		return "its status byte was written";
	if (!untouched(o))
		return "a data buffer was written";
	if (h.normal_request(Hostile::silence_ms))
		return "the queue went on serving";
	if (auto reset_problem = timed_restart(s, options); !reset_problem.empty())
		return reset_problem;
	if (options.server_down ? !h.held_request(Hostile::held_ms) : !h.normal_request(3000))
		return "after a reset, a normal request was not served";
	return "";
}

// Starts the device with queue 0's ring announced as `ring`, which it must
// refuse; then resets it and checks that a good ring works.
std::string expect_refused(BlkSession &s, const BlkSession::RingOverride &ring,
                           const char *if_taken)
{
	if (auto st = s.device().reset(); !st)
		return st.error().message;
	Status st = s.start_with(ring);
	std::string problem;
	if (st)
		problem = if_taken;
	else
		(void)std::printf("    refused: %s\n", st.error().message.c_str());
	if (auto again = s.restart(); !again)
		return problem + (problem.empty() ? "" : "; ") + "reset: " + again.error().message;
	Hostile h(s, false);
	if (problem.empty() && !h.normal_request(3000))
		problem = "after a reset, a normal request did not complete";
	return problem;
}

std::string ring_larger_than_max(BlkSession &s)
{
	// Twice the device's maximum (the driver memory has room for it).
	BlkSession::RingOverride twice;
	twice.size = static_cast<uint16_t>(
	        std::min<uint32_t>(32768, uint32_t{s.device().max_ring_size()} * 2));
	return expect_refused(s, twice, "the device took a ring of twice its maximum");
}

std::string rings_unmapped(BlkSession &s)
{
	// Queue 0's descriptor table where no IOTLB entry is: the device
	// cannot serve it and must not take DRIVER_OK.
	BlkSession::RingOverride nowhere;
	nowhere.desc_iova = 0x7000000000;
	return expect_refused(s, nowhere, "the device took DRIVER_OK with a ring it cannot map");
}

std::string flood_during_iotlb_update(BlkSession &s)
{
	// One thread keeps queue 0 full of reads; the IOTLB changes meanwhile,
	// which makes the device stop and restart its queues.
	std::atomic<bool> stop{false};
	std::string flood_error;
	std::thread flood([&] {
		std::mt19937_64 rng(7);
		DriverRing &r = s.ring(0);
		std::vector<int> head_slot(r.size(), -1);
		uint16_t depth = std::min<uint16_t>(s.options().depth, 8);
		auto submit = [&](uint16_t k) {
			BlkCommand cmd{VIRTIO_BLK_T_IN, 0, s.slot(0, k).data, s.block_size()};
			if (auto head = s.submit(0, k, cmd, Layout::simple, rng))
				head_slot[*head] = k;
		};
		for (uint16_t k = 0; k < depth; ++k)
			submit(k);
		r.kick();
		unsigned in_flight = depth;
		while (in_flight > 0) {
			bool got = false;
			while (auto used = r.next_used()) {
				got = true;
				auto k = static_cast<uint16_t>(head_slot[used->id]);
				r.release_chain(static_cast<uint16_t>(used->id));
				if (stop)
					--in_flight;
				else
					submit(k);
			}
			if (got)
				r.kick();
			else if (!r.wait_call(5000)) {
				flood_error = "the flood got no completion in 5 s";
				return;
			}
		}
	});
	std::this_thread::sleep_for(std::chrono::milliseconds(300));
	std::string problem;
	for (int i = 0; i < 5 && problem.empty(); ++i) {
		auto t0 = Clock::now();
		auto st = s.device().map(0x5000000000, 1u << 20, s.spare(), VHOST_ACCESS_RW, 0);
		if (st)
			st = s.device().unmap(0x5000000000, 1u << 20);
		double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
		if (!st)
			problem = "IOTLB update: " + st.error().message;
		else if (ms > 2000)
			problem = "an IOTLB update took " + std::to_string(static_cast<int>(ms)) +
			          " ms";
	}
	stop = true;
	flood.join();
	if (problem.empty())
		problem = flood_error;
	Hostile h(s, false);
	if (problem.empty() && !h.normal_request(3000))
		problem = "a normal request after the flood did not complete";
	return problem;
}

} // namespace

int run_hostile(BlkSession &s, const HostileOptions &o)
{
	// A head offered twice needs the first offer answered.
	std::vector<Case> list = cases(o.async_backend && !o.server_down, o.target_process);
	std::vector<std::pair<std::string, std::function<std::string(BlkSession &)>>> ring_cases = {
	        {"ring-larger-than-maximum", ring_larger_than_max},
	        {"rings-unmapped", rings_unmapped},
	        {"flood-during-iotlb-update", flood_during_iotlb_update},
	};
	if (o.list) {
		for (const Case &c : list)
			std::printf("%s (%s)\n", c.name, outcome_name(c.expect));
		for (auto &[name, fn] : ring_cases)
			std::printf("%s\n", name.c_str());
		return 0;
	}
	unsigned passed = 0, failed = 0, not_applicable = 0;
	auto report = [&](const std::string &name, const std::string &problem, bool na) {
		if (na) {
			++not_applicable;
			std::printf("%-34s n/a   %s\n", name.c_str(), problem.c_str());
		} else if (problem.empty()) {
			++passed;
			std::printf("%-34s pass\n", name.c_str());
		} else {
			++failed;
			std::printf("%-34s FAIL  %s\n", name.c_str(), problem.c_str());
		}
		(void)std::fflush(stdout);
	};
	bool matched = false;
	for (const Case &c : list) {
		if (!o.only.empty() && o.only != c.name)
			continue;
		matched = true;
		bool na = false;
		std::string problem = run_case(s, c, o, na);
		report(std::string(c.name) + " (" + outcome_name(c.expect) + ")", problem, na);
		// Every case starts from a freshly reset device.
		if (auto why = timed_restart(s, o); !why.empty()) {
			report("reset after " + std::string(c.name), why, false);
			break;
		}
	}
	for (auto &[name, fn] : ring_cases) {
		if (!o.only.empty() && o.only != name)
			continue;
		matched = true;
		// Each ends with requests that the server must answer.
		if (o.server_down)
			report(name, "it needs the server, which is down", true);
		else
			report(name, fn(s), false);
	}
	if (!matched) {
		(void)std::fprintf(stderr, "hostile: no case named '%s' (see --list)\n",
		                   o.only.c_str());
		return 2;
	}
	std::printf("hostile: %u passed, %u failed, %u not applicable\n", passed, failed,
	            not_applicable);
	return failed == 0 ? 0 : 1;
}

} // namespace vduse::client
