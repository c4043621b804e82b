// The vdpa bus in sysfs: which driver a device is bound to, rebinding it with
// driver_override, and the node the driver made (/dev/vdX, /dev/vhost-vdpa-N).
#pragma once

#include "base/result.h"
#include "vdpa/driver.h"

#include <chrono>
#include <optional>
#include <string>

namespace vduse
{

bool vdpa_device_exists(const std::string &name);
// "virtio_vdpa", "vhost_vdpa", or "" when unbound.
std::string vdpa_bound_driver(const std::string &name);
// Binds the device to the driver, unbinding it from another first.
Status vdpa_bind(const std::string &name, Driver driver);
// The node of the bound driver, if it exists yet.
std::optional<std::string> vdpa_device_node(const std::string &name);
// Waits until the node exists in /dev.
Result<std::string> vdpa_wait_for_node(const std::string &name, std::chrono::milliseconds timeout);

} // namespace vduse
