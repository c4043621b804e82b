// What STATE_DIR/NAME.stats can hold when vdusectl stats reads it: a file
// vdused left half-written, one of another version, or anything a user put
// there. read_stats takes it or refuses it; what it takes, the derived
// figures (totals, in flight, percentiles) handle without a fault.
#include "state/device_stats.h"

#include <cstdlib>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

using namespace vduse;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = ::memfd_create("stats", MFD_CLOEXEC);
	if (fd < 0)
		std::abort();
	if (size > 0 && ::write(fd, data, size) != static_cast<ssize_t>(size))
		std::abort();
	auto snapshot = read_stats("/proc/self/fd/" + std::to_string(fd));
	::close(fd);
	if (!snapshot)
		return 0;
	if (snapshot->queues.empty())
		std::abort(); // a stats file has at least one queue
	QueueStats sum = total(*snapshot);
	uint64_t figures = in_flight(sum);
	for (const QueueStats &q : snapshot->queues) {
		figures += in_flight(q);
		for (double p : {0.01, 0.5, 0.9, 0.99, 1.0})
			figures += latency_percentile_ns(q, p);
	}
	for (double p : {0.5, 0.99})
		figures += latency_percentile_ns(sum, p);
	volatile uint64_t keep = figures; // the figures are computed, not optimised away
	(void)keep;
	return 0;
}
