// What list and show report about a device: its record joined with what the
// kernel and the process table say now.
#pragma once

#include "context.h"
#include "state/state_dir.h"
#include "worker.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace vduse
{

struct DeviceStatus {
	DeviceRecord record;
	std::string driver; // bound driver, "" if none
	std::optional<std::string> node;
	WorkerState worker;    // worker.running: a vdused serves it
	bool attached = false; // on the vdpa bus
	std::string state;     // running, daemon-dead, detached
};

DeviceStatus device_status(const DeviceRecord &record);
nlohmann::json status_to_json(const DeviceStatus &status);

} // namespace vduse
