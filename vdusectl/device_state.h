// One device state model: what a device is now (from its record, the kernel
// and its daemon), and for each state the one fix that works. show's state
// and hint, and every verb's refusal, come from here, so that following any
// of them leads to the same place; tests/unit/device_state_test.cpp and the
// guest scenario adm-003-device-states hold them to it.
#pragma once

#include "base/result.h"

#include <string>
#include <string_view>

namespace vduse
{

enum class DeviceState {
	running,     // a vdused serves it and it is on the vdpa bus
	daemon_dead, // the VDUSE device is there, its vdused is not
	broken,      // the kernel gave up on it (a message not answered in time)
	stale,       // the record outlived its VDUSE device (removed, or a reboot)
	detached,    // served, but not on the vdpa bus (vdpa dev del by hand)
};

// What the state is made of, as device_report finds it.
struct StateFacts {
	bool daemon_running = false;
	bool vduse_exists = false;
	bool vduse_broken = false;
	bool on_vdpa_bus = false;
	bool persistent = false;
};

DeviceState classify(const StateFacts &facts);

// The name list, show and the scenarios use: running, daemon-dead, ...
std::string_view state_name(DeviceState state);

// Why the device is in STATE and the fix, as show's hint: "WHY; fix:
// vdusectl VERB NAME[, then vdusectl VERB NAME]". "" for running. The fix
// depends on whether the device is persistent (restore brings its spec
// back) and nothing else.
std::string state_hint(DeviceState state, const std::string &name, bool persistent);

// What VERB needs the device to be, as a refusal naming the state and
// carrying the hint: "NAME: cannot VERB a stale device: WHY; fix: ...".
// Ok when the verb can act on the device in STATE.
enum class Need {
	served,      // resize: running
	attached,    // bind: a vdused serves it (bind puts a detached one back)
	recoverable, // recover: daemon-dead
	replaceable, // restart: a VDUSE device the kernel still serves
};
Status require_state(std::string_view verb, const std::string &name, DeviceState state,
                     bool persistent, Need need);

} // namespace vduse
