// outage: what a VM that reboots while its storage is away does to the
// device. Submits writes (and with --reads, reads) that the device cannot
// finish now (the scenario has
// stopped the server), waits, and resets the device with them in flight. The
// reset must be answered at once (the kernel's VDUSE message timeout is 30
// s; past it the device is broken for good), and afterwards the device must
// never touch the driver's memory again: no status byte written, nothing
// added to the used ring, even when the server comes back meanwhile.
#include "linux_vhost.h"
#include "modes.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace vduse::client
{

namespace
{
constexpr uint8_t read_sentinel = 0x5a;
}

namespace
{

// A new memory table while the requests are held: the device must answer
// it without waiting for them, and finish them when the server is back.
// Either one more entry (what the device mapped is unchanged) or, with
// remap, all the memory again in entries of another size (every region the
// device mapped changes, though the memory behind them does not).
int iotlb_change(BlkSession &session, const OutageOptions &options, uint16_t count,
                 const std::function<bool(uint16_t)> &is_read)
{
	using clock = std::chrono::steady_clock;
	constexpr uint64_t alias = 0x4000000000;
	auto start = clock::now();
	DriverMemory &memory = session.memory();
	Status mapped =
	        options.iotlb_remap
	                ? session.device().remap(memory.iova_base(), memory.size(), memory.base(),
	                                         VHOST_ACCESS_RW,
	                                         session.options().iotlb_chunk == 0 ? 1u << 20 : 0)
	                : session.device().map(alias, 1u << 20, session.spare(), VHOST_ACCESS_RW,
	                                       0);
	auto ms =
	        std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start).count();
	if (!mapped) {
		(void)std::printf("outage: FAIL: the IOTLB change failed after %lld ms: %s\n",
		                  static_cast<long long>(ms), mapped.error().message.c_str());
		return 1;
	}
	(void)std::printf("outage: the IOTLB change was answered in %lld ms\n",
	                  static_cast<long long>(ms));
	if (ms > options.reset_limit_ms) {
		(void)std::printf("outage: FAIL: more than %lld ms\n",
		                  static_cast<long long>(options.reset_limit_ms));
		return 1;
	}
	DriverRing &ring = session.ring(0);
	auto until = clock::now() + std::chrono::duration<double>(options.watch);
	auto finished = [&] {
		for (uint16_t k = 0; k < count; ++k)
			if (*session.slot(0, k).answer == stale_status)
				return false;
		return true;
	};
	while (!finished() && clock::now() < until) {
		while (ring.next_used()) {
		}
		(void)ring.wait_call(50);
	}
	for (uint16_t k = 0; k < count; ++k) {
		uint8_t status = *session.slot(0, k).answer;
		if (status != options.held_status) {
			(void)std::printf("outage: FAIL: request %u %s (status %#x, expected %#x) "
			                  "%.1f s after "
			                  "the IOTLB change\n",
			                  k,
			                  status == stale_status ? "is not answered"
			                                         : "finished otherwise",
			                  status, options.held_status, options.watch);
			return 1;
		}
		const uint8_t *data = session.slot(0, k).data;
		if (options.held_status == VIRTIO_BLK_S_OK && is_read(k) &&
		    data[0] == read_sentinel && std::memcmp(data, data + 1, 4095) == 0) {
			(void)std::printf("outage: FAIL: read %u finished with OK but its data did "
			                  "not arrive\n",
			                  k);
			return 1;
		}
	}
	(void)std::printf("outage: the %u held requests finished with %s after the IOTLB "
	                  "change\n",
	                  count, options.held_status == VIRTIO_BLK_S_OK ? "OK" : "IOERR");
	return 0;
}

} // namespace

int run_outage(BlkSession &session, const OutageOptions &options)
{
	using clock = std::chrono::steady_clock;
	DriverRing &ring = session.ring(0);
	std::mt19937_64 rng(1);
	auto count = static_cast<uint16_t>(
	        std::min<uint32_t>(options.requests, session.options().depth));
	// With reads, every other request reads into a buffer filled with
	// read_sentinel, which must still be there after the reset.
	auto is_read = [&](uint16_t k) { return options.reads && k % 2 == 1; };
	for (uint16_t k = 0; k < count; ++k) {
		Slot &slot = session.slot(0, k);
		if (is_read(k))
			std::memset(slot.data, read_sentinel, 4096);
		else
			fill_pattern(slot.data, 4096, k, 1);
		BlkCommand cmd{is_read(k) ? uint32_t{VIRTIO_BLK_T_IN} : uint32_t{VIRTIO_BLK_T_OUT},
		               uint64_t{k} * 8, slot.data, 4096};
		if (!session.submit(0, k, cmd, Layout::simple, rng)) {
			(void)std::printf("outage: the ring took only %u requests\n", k);
			return 1;
		}
	}
	ring.force_kick();
	std::this_thread::sleep_for(std::chrono::duration<double>(options.hold));
	unsigned answered = 0;
	while (ring.next_used())
		++answered;
	// What has no status yet is what the reset voids and must stay untouched.
	std::vector<bool> void_after_reset(count);
	std::string held;
	for (uint16_t k = 0; k < count; ++k) {
		void_after_reset[k] = *session.slot(0, k).answer == stale_status;
		if (void_after_reset[k])
			held += (held.empty() ? "" : ",") + std::to_string(k) +
			        (is_read(k) ? "r" : "w");
	}
	(void)std::printf("outage: %u of %u requests answered before the reset; held: %s\n",
	                  answered, count, held.empty() ? "none" : held.c_str());
	if (held.empty()) {
		(void)std::printf("outage: FAIL: nothing was held for the reset to void\n");
		return 1;
	}
	if (options.iotlb_change || options.iotlb_remap)
		return iotlb_change(session, options, count, is_read);
	auto start = clock::now();
	Status reset = session.device().reset();
	auto ms =
	        std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start).count();
	if (!reset) {
		(void)std::printf("outage: FAIL: the reset failed after %lld ms: %s\n",
		                  static_cast<long long>(ms), reset.error().message.c_str());
		return 1;
	}
	(void)std::printf("outage: the reset was answered in %lld ms\n",
	                  static_cast<long long>(ms));
	if (ms > options.reset_limit_ms) {
		(void)std::printf("outage: FAIL: more than %lld ms\n",
		                  static_cast<long long>(options.reset_limit_ms));
		return 1;
	}
	auto until = clock::now() + std::chrono::duration<double>(options.watch);
	while (clock::now() < until) {
		for (uint16_t k = 0; k < count; ++k) {
			if (!void_after_reset[k])
				continue;
			const Slot &slot = session.slot(0, k);
			if (*slot.answer != stale_status) {
				(void)std::printf(
				        "outage: FAIL: the device wrote the status of request "
				        "%u (%#x) after the reset\n",
				        k, *slot.answer);
				return 1;
			}
			if (is_read(k) && (slot.data[0] != read_sentinel ||
			                   std::memcmp(slot.data, slot.data + 1, 4095) != 0)) {
				(void)std::printf(
				        "outage: FAIL: the device wrote the data of read %u "
				        "after the reset\n",
				        k);
				return 1;
			}
		}
		if (ring.next_used()) {
			(void)std::printf(
			        "outage: FAIL: the device used a descriptor after the reset\n");
			return 1;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(50));
	}
	(void)std::printf(
	        "outage: nothing touched the driver's memory for %.1f s after the reset\n",
	        options.watch);
	return 0;
}

} // namespace vduse::client
