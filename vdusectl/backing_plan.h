// For `add -t file|loop`: what the backing file says about the device (size,
// block sizes, read-only) and what add must do to it (create or grow it).
#pragma once

#include "add_device.h"
#include "state/state_dir.h"

namespace vduse
{

struct BackingPlan {
	bool create = false;   // a new sparse image of spec.size_bytes
	uint64_t old_size = 0; // the image's size before add grows it
	bool grow = false;
};

// Completes options.spec from the file and checks it can be used; the
// returned error says why not. size is the parsed --size, 0 if not given.
// options.spec.file is set (add checked the arguments first).
Result<BackingPlan> plan_backing(const StateDir &state, AddOptions &options, uint64_t size);
// Creates or grows the image as planned.
Status apply_backing(const DeviceSpec &spec, const BackingPlan &plan);
// Undoes apply_backing.
void revert_backing(const DeviceSpec &spec, const BackingPlan &plan);

} // namespace vduse
