// flood: what a hostile (or careless) driver can ask of the device's memory.
// Keeps --requests requests in flight for --seconds, each as large as the
// device's configuration allows (seg_max segments of size_max bytes, all
// pointing at the same 1 MiB of driver memory, which the spec does not
// forbid), through indirect tables. The device must serve or fail them
// without taking memory in proportion to what is asked: the scenario
// watches the daemon's RSS. Prints how many completed and with what status.
#include "modes.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

namespace vduse::client
{

int run_flood(BlkSession &session, const FloodOptions &options)
{
	using clock = std::chrono::steady_clock;
	DriverRing &ring = session.ring(0);
	const virtio_blk_config &cfg = session.config();
	uint32_t seg_max = session.has_feature(VIRTIO_BLK_F_SEG_MAX) ? cfg.seg_max : 1;
	uint32_t size_max = session.has_feature(VIRTIO_BLK_F_SIZE_MAX) ? cfg.size_max : 1u << 20;
	uint32_t segments =
	        std::min<uint32_t>(seg_max, options.segments ? options.segments : seg_max);
	uint32_t seg_bytes =
	        std::min<uint32_t>({size_max, 1u << 20,
	                            options.segment_bytes ? options.segment_bytes : UINT32_MAX}) &
	        ~uint32_t{511};
	uint64_t request_bytes = uint64_t{segments} * seg_bytes;
	uint64_t capacity = session.capacity_bytes();
	if (segments == 0 || seg_bytes == 0 || request_bytes > capacity) {
		(void)std::printf(
		        "flood: requests of %u x %u bytes do not fit a %llu-byte device\n",
		        segments, seg_bytes, static_cast<unsigned long long>(capacity));
		return 1;
	}
	// The spare memory: 1 MiB of data (at an odd address with --unaligned,
	// which a backend must stage for O_DIRECT), then from 2 MiB on one
	// indirect table per request.
	uint8_t *data = session.spare() + (options.unaligned ? 1 : 0);
	uint8_t *tables = session.spare() + (2u << 20);
	size_t table_bytes = (size_t{segments} + 2) * sizeof(vring::Desc);
	size_t room = (BlkSession::spare_bytes - (2u << 20)) / table_bytes;
	auto count = static_cast<uint16_t>(
	        std::min<size_t>({size_t{options.requests}, size_t{session.options().depth}, room,
	                          size_t{ring.size()}}));
	(void)std::printf("flood: %u %s%s of %u x %u bytes (%llu MiB each) in flight for %.0f s\n",
	                  count, options.unaligned ? "unaligned " : "",
	                  options.write ? "writes" : "reads", segments, seg_bytes,
	                  static_cast<unsigned long long>(request_bytes >> 20), options.seconds);
	std::memset(data, 0x3c, 1u << 20);
	uint64_t positions = capacity / request_bytes;
	uint64_t next_position = 0;
	std::vector<int> head_to_k(ring.size(), -1);
	auto submit = [&](uint16_t k) {
		Slot &slot = session.slot(0, k);
		virtio_blk_outhdr h{options.write ? uint32_t{VIRTIO_BLK_T_OUT}
		                                  : uint32_t{VIRTIO_BLK_T_IN},
		                    0, (next_position++ % positions) * (request_bytes / 512)};
		std::memcpy(slot.header, &h, sizeof(h));
		*slot.status = stale_status;
		auto *table = reinterpret_cast<vring::Desc *>(tables + k * table_bytes);
		uint16_t flags = options.write ? 0 : vring::desc_f_write;
		table[0] = {session.memory().iova(slot.header), 16, vring::desc_f_next, 1};
		for (uint32_t i = 0; i < segments; ++i)
			table[i + 1] = {session.memory().iova(data), seg_bytes,
			                static_cast<uint16_t>(flags | vring::desc_f_next),
			                static_cast<uint16_t>(i + 2)};
		table[segments + 1] = {session.memory().iova(slot.status), 1, vring::desc_f_write,
		                       0};
		auto ids = ring.alloc(1);
		if (!ids)
			return false;
		uint16_t head = (*ids)[0];
		ring.desc(head) = {session.memory().iova(table), static_cast<uint32_t>(table_bytes),
		                   vring::desc_f_indirect, 0};
		head_to_k[head] = k;
		ring.publish(head);
		return true;
	};
	for (uint16_t k = 0; k < count; ++k) {
		if (!submit(k)) {
			(void)std::printf("flood: the ring took only %u requests\n", k);
			return 1;
		}
	}
	ring.force_kick();
	uint64_t ok = 0, failed = 0, in_flight = count;
	auto until = clock::now() + std::chrono::duration<double>(options.seconds);
	auto give_up = until + std::chrono::seconds(options.drain_seconds);
	while (in_flight > 0 && clock::now() < give_up) {
		bool any = false;
		while (auto used = ring.next_used()) {
			any = true;
			auto head = static_cast<uint16_t>(used->id);
			int k = head < head_to_k.size() ? head_to_k[head] : -1;
			ring.release_chain(head);
			if (k < 0) {
				(void)std::printf(
				        "flood: FAIL: the device used head %u, never offered\n",
				        head);
				return 1;
			}
			uint8_t status = *session.slot(0, static_cast<uint16_t>(k)).status;
			(status == VIRTIO_BLK_S_OK ? ok : failed)++;
			--in_flight;
			if (clock::now() < until && submit(static_cast<uint16_t>(k)))
				++in_flight;
		}
		if (any)
			ring.kick();
		else
			(void)ring.wait_call(100);
	}
	(void)std::printf("flood: %llu completed (%llu MiB), %llu failed, %llu unanswered\n",
	                  static_cast<unsigned long long>(ok),
	                  static_cast<unsigned long long>((ok * request_bytes) >> 20),
	                  static_cast<unsigned long long>(failed),
	                  static_cast<unsigned long long>(in_flight));
	return in_flight == 0 ? 0 : 1;
}

} // namespace vduse::client
