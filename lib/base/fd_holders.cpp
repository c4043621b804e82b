#include "base/fd_holders.h"

#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>

namespace vduse
{

namespace
{

struct DirCloser {
	void operator()(DIR *d) const { ::closedir(d); }
};
using Dir = std::unique_ptr<DIR, DirCloser>;

// A device node is the same device under any path; a file is its inode.
bool same_file(const struct stat &a, const struct stat &b)
{
	bool device = S_ISCHR(a.st_mode) || S_ISBLK(a.st_mode);
	if (device)
		return (a.st_mode & S_IFMT) == (b.st_mode & S_IFMT) && a.st_rdev == b.st_rdev;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

bool holds(const std::string &fd_dir, const struct stat &target)
{
	Dir dir(::opendir(fd_dir.c_str()));
	if (!dir)
		return false;
	while (dirent *e = ::readdir(dir.get())) {
		struct stat st {
		};
		if (e->d_name[0] == '.')
			continue;
		if (::stat((fd_dir + "/" + e->d_name).c_str(), &st) == 0 && same_file(st, target))
			return true;
	}
	return false;
}

} // namespace

std::vector<FdHolder> fd_holders(const std::string &path)
{
	std::vector<FdHolder> out;
	struct stat target {
	};
	if (::stat(path.c_str(), &target) < 0)
		return out;
	Dir proc(::opendir("/proc"));
	if (!proc)
		return out;
	pid_t self = ::getpid();
	while (dirent *e = ::readdir(proc.get())) {
		char *end = nullptr;
		long pid = std::strtol(e->d_name, &end, 10);
		if (*end != '\0' || pid <= 0 || pid == self)
			continue;
		std::string base = std::string("/proc/") + e->d_name;
		if (!holds(base + "/fd", target))
			continue;
		FdHolder h;
		h.pid = static_cast<pid_t>(pid);
		std::ifstream comm(base + "/comm");
		std::getline(comm, h.command);
		out.push_back(h);
	}
	return out;
}

std::string describe_holders(const std::vector<FdHolder> &holders)
{
	std::string text;
	for (const FdHolder &h : holders) {
		if (!text.empty())
			text += ", ";
		text += "pid " + std::to_string(h.pid) + " (" + h.command + ")";
	}
	return text;
}

} // namespace vduse
