// The kernel's "vdpa" generic netlink family (what iproute2's `vdpa` speaks):
// attaching VDUSE devices to the vdpa bus and detaching them.
#pragma once

#include "base/result.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

struct nl_sock;

namespace vduse
{

class VdpaNetlink
{
public:
	static Result<VdpaNetlink> connect();

	// VDPA_CMD_DEV_NEW for the VDUSE device NAME. Blocks while the driver that
	// binds resets the device: a vdused must already be serving it.
	Status add_device(const std::string &name);
	Status del_device(const std::string &name);
	// VDPA_CMD_MGMTDEV_GET: whether the management device (e.g. "vduse") exists.
	Status check_management_device(const std::string &mgmtdev);

	struct Reply; // what the netlink callbacks collect

private:
	struct SockDeleter {
		void operator()(nl_sock *sock) const;
	};
	VdpaNetlink(std::unique_ptr<nl_sock, SockDeleter> sock, int family)
	        : sock_(std::move(sock)), family_(family)
	{
	}
	using StringAttr = std::pair<int, std::string>;
	Status transact(uint8_t cmd, const std::vector<StringAttr> &attrs, Reply &reply,
	                const std::string &what);

	std::unique_ptr<nl_sock, SockDeleter> sock_;
	int family_ = 0;
};

} // namespace vduse
