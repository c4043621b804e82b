// The two vdpa bus drivers a VDUSE block device can be bound to: virtio_vdpa
// (a host block device, /dev/vdX) and vhost_vdpa (/dev/vhost-vdpa-N, for a VM).
#pragma once

#include "base/result.h"

#include <string_view>

namespace vduse
{

enum class Driver { virtio, vhost };

std::string_view driver_option_name(Driver driver); // "virtio", "vhost"
std::string_view driver_kernel_name(Driver driver); // "virtio_vdpa", "vhost_vdpa"
// "virtio" or "vhost" (or the kernel names); a usage error otherwise.
Result<Driver> parse_driver(std::string_view text);

} // namespace vduse
