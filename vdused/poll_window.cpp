#include "poll_window.h"

#include <algorithm>

namespace vduse
{

void PollWindow::slept(std::chrono::nanoseconds how_long, unsigned in_flight)
{
	std::chrono::nanoseconds shortest = std::min(floor, longest_);
	// From the last work to the next: the window polled, then the sleep.
	std::chrono::nanoseconds gap = current(in_flight) + how_long;
	// With several requests held every sleep shrinks it: a window learnt
	// at QD1 that outlived a QD32 run would spin whenever the backend's
	// requests dipped to one (nbd at QD32: 0.7x of the fixed window's IOPS).
	if (gap > longest_ || in_flight > 1)
		current_ = std::max(shortest, current_ / 2);
	else
		current_ = std::min(longest_, current_ * 2);
}

} // namespace vduse
