// How long a queue's thread busy-polls for more work after its last before
// it sleeps. The window adapts to how soon work comes back, after QEMU's
// adaptive polling (util/aio-posix.c, adjust_polling_time): when the thread
// slept and the work that woke it (the driver's next request, or the
// backend's answer to the one request it held) came no later than the
// longest window after the last, polling that long would have caught it,
// so the window doubles; whenever the gap was longer, polling would have
// been spent for nothing, so it halves. While the backend holds several
// requests the thread polls only the shortest window, and every sleep then
// halves it: on a host with few CPUs a longer spin takes the CPU that
// the backend's own threads (a loop device's worker, an nbd connection, a
// target) need to answer them, and their answers come in batches anyway
// (measured at QD32 on two vCPUs: docs/DATA-PATH.md, "The adaptive poll
// window"). So a driver at QD1 and a backend that answers within a few
// hundred µs (the bridge's target) are caught without a wake-up each way,
// and an idle queue goes back to a short window.
#pragma once

#include <algorithm>
#include <chrono>

namespace vduse
{

class PollWindow
{
public:
	// The shortest window it shrinks to (or longest, if less).
	static constexpr std::chrono::nanoseconds floor = std::chrono::microseconds(50);

	// longest: the window never grows past it; 0 never polls.
	explicit PollWindow(std::chrono::nanoseconds longest)
	        : longest_(longest), current_(std::min(floor, longest))
	{
	}
	// The window to poll with the backend holding in_flight requests.
	std::chrono::nanoseconds current(unsigned in_flight = 0) const
	{
		return in_flight > 1 ? std::min(current_, floor) : current_;
	}
	// The thread polled for current(in_flight), then slept this long before
	// work woke it; in_flight: the requests the backend held meanwhile.
	void slept(std::chrono::nanoseconds how_long, unsigned in_flight);

private:
	std::chrono::nanoseconds longest_;
	std::chrono::nanoseconds current_;
};

} // namespace vduse
