// Adding a device, shared by `vdusectl add` and `vdusectl restore`.
#pragma once

#include "context.h"
#include "output.h"
#include "state/device_spec.h"

#include <string>

namespace vduse
{

struct AddOptions {
	DeviceSpec spec;  // name may be empty: the first free vduseN is taken
	std::string size; // as typed, parsed by add; may be empty for file and loop
	std::string driver = "virtio";
	bool grow = false;             // let --size grow an existing image file
	std::string reconnect_timeout; // as typed: seconds or "forever"; may be empty
	std::string io_timeout;        // as typed: seconds or "forever"; may be empty
	std::string socket_owner;      // as typed: a user name or uid; may be empty
	std::string bounce_size;       // as typed; may be empty
	bool block_size_given = false;
	bool persistent = false; // also write the spec to the persistent directory
	bool restoring = false;  // the spec comes from there (vdusectl restore)
};

// Checks the options (usage errors first, before anything is locked or
// looked at), creates the device, starts its vdused, attaches and binds it,
// and prints it (as JSON in that mode); undoes every step on failure.
// Returns the exit status.
int add_device(Context &ctx, AddOptions &options, JsonMode json);

} // namespace vduse
