// How long a queue's thread busy-polls for more work after its last before
// it sleeps. The window adapts to how soon work comes back, as QEMU's
// adaptive polling does (util/aio-posix.c, adjust_polling_time): when the
// thread slept and the next work came no later than the longest window
// after its last, polling that long would have caught it, so the window
// doubles; when the gap was longer, polling would have been spent for
// nothing, so it halves. A target that answers in 300 µs (vhost-user at QD1
// under TCG) gets a window that catches its answers without a wake-up each
// way; an idle queue goes back to a short one.
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
	std::chrono::nanoseconds current() const { return current_; }
	std::chrono::nanoseconds longest() const { return longest_; }
	// The thread polled for the current window, then slept this long
	// before work woke it.
	void slept(std::chrono::nanoseconds how_long);

private:
	std::chrono::nanoseconds longest_;
	std::chrono::nanoseconds current_;
};

} // namespace vduse
