// What list, show and add --json report about a device: its record in the
// state directory joined with what the kernel and the service manager say
// now, as a Record of the output model (output.h).
#pragma once

#include "context.h"
#include "device_state.h"
#include "output.h"
#include "state/bounce_status.h"
#include "state/link_status.h"
#include "state/state_dir.h"
#include "worker.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vduse
{

struct DeviceReport {
	DeviceRecord record;
	std::string bound_driver; // the vdpa driver bound now, "" if none
	std::optional<std::string> node;
	WorkerState worker;    // worker.running: a vdused serves it
	bool attached = false; // on the vdpa bus
	DeviceState state_kind = DeviceState::running;
	std::string state;                  // state_name(state_kind)
	std::string hint;                   // state_hint(state_kind, ...): "" when running
	std::optional<LinkStatus> link;     // a network backend's connection, as vdused said
	uint64_t bounce_size = 0;           // the kernel's, or the spec's if it has no device
	std::optional<BounceStatus> bounce; // vdused's bounce memory, as it said
};

// The facts of device_state.h for RECORD, its daemon WORKER, and whether it
// is ATTACHED to the vdpa bus.
StateFacts state_facts(const DeviceRecord &record, const WorkerState &worker, bool attached);

// The device's state now; WORKER: its daemon, if the caller asked already
// (worker_state asks systemd over D-Bus).
DeviceState current_state(const DeviceRecord &record);
DeviceState current_state(const DeviceRecord &record, const WorkerState &worker);

// Asks about the device now and refuses what VERB cannot do in its state
// (require_state).
Status require_device_state(std::string_view verb, const DeviceRecord &record, Need need);
Status require_device_state(std::string_view verb, const DeviceRecord &record,
                            const WorkerState &worker, Need need);

// Asks sysfs, the process table or systemd about the device now, and the
// state directory about a network backend's connection.
DeviceReport device_report(const DeviceRecord &record, const StateDir &state);

// Every field a device has, in show's order: the keys of show --json and
// list --json, and the columns of list. vdusectl(8) documents each one
// (DEVICE FIELDS); a unit test holds the two together.
const std::vector<Column> &device_columns();

// The columns list prints without -o.
inline constexpr std::string_view list_default_columns =
        "name,backend,size_bytes,queues,queue_depth,block_size,read_only,driver,node,pid,state,"
        "source";

Record device_record(const DeviceReport &report);

// The records of the devices NAMES in the state directory; a device that
// cannot be read is reported (one line on stderr) and sets rc to its exit
// status, the others are still returned.
std::vector<Record> read_device_records(const StateDir &state,
                                        const std::vector<std::string> &names, int &rc);

} // namespace vduse
