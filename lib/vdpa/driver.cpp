#include "vdpa/driver.h"

#include <string>

namespace vduse
{

std::string_view driver_option_name(Driver driver)
{
	return driver == Driver::virtio ? "virtio" : "vhost";
}

std::string_view driver_kernel_name(Driver driver)
{
	return driver == Driver::virtio ? "virtio_vdpa" : "vhost_vdpa";
}

Result<Driver> parse_driver(std::string_view text)
{
	if (text == "virtio" || text == "virtio_vdpa")
		return Driver::virtio;
	if (text == "vhost" || text == "vhost_vdpa")
		return Driver::vhost;
	return usage_error("unknown driver '" + std::string(text) + "' (virtio or vhost)");
}

} // namespace vduse
