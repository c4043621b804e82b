#include "poll_window.h"

#include <algorithm>

namespace vduse
{

void PollWindow::slept(std::chrono::nanoseconds how_long, unsigned in_flight)
{
	std::chrono::nanoseconds shortest = std::min(floor, longest_);
	// From the last work to the next: the window polled, then the sleep.
	std::chrono::nanoseconds gap = current(in_flight) + how_long;
	if (gap > longest_)
		current_ = std::max(shortest, current_ / 2);
	else if (in_flight <= 1)
		current_ = std::min(longest_, current_ * 2);
}

} // namespace vduse
