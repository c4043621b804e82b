// Who uses a device node: file systems mounted from it (or a partition),
// devices stacked on it (device-mapper, md), processes holding it open.
#pragma once

#include <string>
#include <vector>

namespace vduse
{

// One line per kind of user, e.g. "mounted on /srv", "held by dm-0",
// "open in pid 123 (qemu-system-x86)"; empty if nobody uses it.
std::vector<std::string> node_users(const std::string &node);

// "NODE is in use (USER; USER)", or "" if nobody uses NODE.
std::string node_in_use(const std::string &node);

} // namespace vduse
