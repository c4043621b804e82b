#include "node_users.h"

#include "base/fd_holders.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <sys/sysmacros.h>

namespace fs = std::filesystem;

namespace vduse
{

namespace
{

// "maj:min" of a block node and of each of its partitions
// (/sys/class/block/vda/vda1); nodes gets the node and those partitions.
std::set<std::string> device_numbers(const std::string &node, std::vector<std::string> &nodes)
{
	std::set<std::string> numbers;
	nodes.push_back(node);
	struct stat st {
	};
	// A character node (/dev/vhost-vdpa-N) is only ever held open.
	if (::stat(node.c_str(), &st) < 0 || !S_ISBLK(st.st_mode))
		return numbers;
	numbers.insert(std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev)));
	std::string disk = fs::path(node).filename().string();
	std::error_code ec;
	for (const auto &entry : fs::directory_iterator("/sys/class/block/" + disk, ec)) {
		std::string part = entry.path().filename().string();
		if (part.rfind(disk, 0) != 0)
			continue;
		std::string number;
		std::ifstream(entry.path() / "dev") >> number;
		if (!number.empty()) {
			numbers.insert(number);
			nodes.push_back("/dev/" + part);
		}
	}
	return numbers;
}

} // namespace

std::vector<std::string> node_users(const std::string &node)
{
	std::vector<std::string> users;
	std::vector<std::string> nodes;
	std::set<std::string> numbers = device_numbers(node, nodes);
	// /proc/self/mountinfo: "36 35 254:0 / /srv rw,... - ext4 /dev/vda rw"
	std::ifstream mountinfo("/proc/self/mountinfo");
	for (std::string line; std::getline(mountinfo, line);) {
		std::istringstream fields(line);
		std::string id, parent, number, root, mount_point;
		fields >> id >> parent >> number >> root >> mount_point;
		if (numbers.count(number))
			users.push_back("mounted on " + mount_point);
	}
	std::error_code ec;
	for (const std::string &n : nodes) {
		std::string name = fs::path(n).filename().string();
		for (const auto &holder :
		     fs::directory_iterator("/sys/class/block/" + name + "/holders", ec))
			users.push_back("held by " + holder.path().filename().string());
		auto holders = fd_holders(n);
		if (!holders.empty())
			users.push_back(n + " open in " + describe_holders(holders));
	}
	return users;
}

std::string node_in_use(const std::string &node)
{
	std::string text;
	for (const std::string &user : node_users(node))
		text += (text.empty() ? "" : "; ") + user;
	return text.empty() ? text : node + " is in use (" + text + ")";
}

} // namespace vduse
