// Removing devices whatever state they are in: shared by `del` (its
// --force) and `gc`.
#pragma once

#include "context.h"

#include <chrono>
#include <string>

namespace vduse
{

// The kernel's DEV_DEL of a device whose /dev/vhost-vdpa-N is open blocks
// until the fd is closed, holding the vdpa lock for every other vdpa call
// (drivers/vhost/vdpa.c, vhost_vdpa_remove waits for the last release).
// Waits up to timeout for the holders to go, then refuses rather than hang.
Status wait_for_vhost_holders(const std::string &name, std::chrono::seconds timeout);

struct ForceDeleteOptions {
	std::chrono::seconds wait{10}; // for holders of /dev/vhost-vdpa-N
	bool keep_spec = false;        // keep the persistent spec
};

// Whatever the record says (unreadable, lost, or naming a daemon or a backing
// file that is gone), removes everything vdusectl made for NAME: its vdused
// (the record's, the unit's, or any vdused holding /dev/vduse/NAME; never
// another process), the vdpa device (answering the reset itself), the VDUSE
// device, the unit's drop-in, the state files and (unless keep_spec) the
// persistent spec. ENOENT if nothing by that name exists.
Status force_delete_device(Context &ctx, const std::string &name,
                           const ForceDeleteOptions &options);

} // namespace vduse
