// stats --format=openmetrics: the devices' counters in the Prometheus text
// exposition format (what node_exporter's textfile collector and promtool
// read), one metric family at a time, every sample labelled with its device
// (and queue). Counters restart from zero with a new vdused; Prometheus'
// rate() takes that as a counter reset, and vduse_daemon_start_time_seconds
// says when.
#pragma once

#include "state/device_stats.h"

#include <optional>
#include <string>
#include <vector>

namespace vduse
{

struct DeviceMetrics {
	std::string name;
	std::string backend;
	std::string driver; // virtio_vdpa, vhost_vdpa
	std::string state;  // device_state.h's name
	uint64_t size_bytes = 0;
	bool daemon_running = false;        // a vdused serves it now
	std::optional<StatsSnapshot> stats; // its vdused's counters (a dead one's last), if any
};

std::string metrics_text(const std::vector<DeviceMetrics> &devices);

} // namespace vduse
