// stats --format=openmetrics' text: families whole and in order, labels
// escaped, the latency histogram cumulative up to +Inf. The guest scenario
// metrics-001 feeds real output to promtool and node_exporter.
#include "metrics_text.h"

#include <gtest/gtest.h>
#include <sstream>

namespace vduse
{
namespace
{

std::vector<std::string> lines_of(const std::string &text)
{
	std::vector<std::string> lines;
	std::istringstream in(text);
	for (std::string line; std::getline(in, line);)
		lines.push_back(line);
	return lines;
}

DeviceMetrics served(const std::string &name)
{
	DeviceMetrics d{name, "null", "virtio_vdpa", "running", 1 << 20, true, StatsSnapshot{}};
	d.stats->started_unix_ns = 1'700'000'000'000'000'000;
	QueueStats q;
	q.requests[static_cast<size_t>(StatType::read)] = 3;
	q.bytes[static_cast<size_t>(StatType::read)] = 12288;
	q.ok = 3;
	q.latency[12] = 2; // 4 us
	q.latency[20] = 1; // 1 ms
	q.latency_ns_total = 1'008'000;
	d.stats->queues = {q, QueueStats{}};
	return d;
}

TEST(MetricsText, FamiliesAreWholeAndSamplesLabelled)
{
	DeviceMetrics down{"odd\"name\\", "nbd",       "vhost_vdpa", "daemon-dead", 0,
	                   false,         std::nullopt};
	std::string text = metrics_text({served("d0"), down});
	std::vector<std::string> seen;
	for (const std::string &line : lines_of(text)) {
		if (line.rfind("# TYPE ", 0) == 0) {
			std::string family = line.substr(7, line.find(' ', 7) - 7);
			EXPECT_EQ(std::count(seen.begin(), seen.end(), family), 0) << family;
			seen.push_back(family);
		}
	}
	EXPECT_GE(seen.size(), 12U);
	EXPECT_NE(text.find("vduse_device_up{device=\"d0\"} 1\n"), std::string::npos);
	EXPECT_NE(text.find("vduse_device_up{device=\"odd\\\"name\\\\\"} 0\n"), std::string::npos);
	EXPECT_NE(text.find("vduse_requests_total{device=\"d0\",queue=\"0\",type=\"read\"} 3\n"),
	          std::string::npos);
	EXPECT_NE(text.find("vduse_read_bytes_total{device=\"d0\",queue=\"1\"} 0\n"),
	          std::string::npos);
	EXPECT_EQ(text.find("vduse_requests_total{device=\"odd"), std::string::npos)
	        << "no counters for a device without a daemon";
}

TEST(MetricsText, LatencyHistogramIsCumulative)
{
	std::string text = metrics_text({served("d0")});
	double last = -1;
	int buckets = 0;
	for (const std::string &line : lines_of(text)) {
		if (line.rfind("vduse_request_duration_seconds_bucket", 0) != 0)
			continue;
		double value = std::stod(line.substr(line.rfind(' ') + 1));
		EXPECT_GE(value, last) << line;
		last = value;
		++buckets;
	}
	EXPECT_EQ(buckets, 27); // 1 us .. 34 s, and +Inf
	EXPECT_EQ(last, 3);
	EXPECT_NE(text.find("vduse_request_duration_seconds_bucket{device=\"d0\",le=\"4.096e-06\"} "
	                    "2\n"),
	          std::string::npos)
	        << text;
	EXPECT_NE(text.find("vduse_request_duration_seconds_count{device=\"d0\"} 3\n"),
	          std::string::npos);
}

} // namespace
} // namespace vduse
