// For `add -t nbd|rbd`: what the server says about the device (size,
// read-only, what it can do, block sizes), asked before anything is created.
#pragma once

#include "add_device.h"

namespace vduse
{

// Completes options.spec from the NBD server's handshake or the RBD image;
// size is the parsed --size, 0 if not given (then the remote size is taken).
Status plan_remote(AddOptions &options, uint64_t size);

} // namespace vduse
