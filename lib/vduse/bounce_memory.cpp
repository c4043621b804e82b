#include "vduse/bounce_memory.h"

#include <cerrno>
#include <fcntl.h>
#include <fstream>
#include <linux/memfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include <utility>

namespace vduse
{

namespace
{

std::string bounce_size_path(const std::string &name)
{
	return "/sys/class/vduse/" + name + "/bounce_size";
}

std::string mib(uint64_t bytes)
{
	return std::to_string(bytes >> 20) + " MiB";
}

} // namespace

Status set_bounce_size(const std::string &name, uint64_t bytes)
{
	std::string path = bounce_size_path(name);
	UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
	if (!fd)
		return errno_error(name + ": cannot open " + path);
	std::string text = std::to_string(bytes);
	if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
		if (errno == EPERM)
			return failure(name + ": the bounce size can only be set before the device "
			                      "is first attached to the vdpa bus");
		return errno_error(name + ": cannot set the bounce size to " + text);
	}
	return {};
}

Result<uint64_t> read_bounce_size(const std::string &name)
{
	std::ifstream in(bounce_size_path(name));
	uint64_t bytes = 0;
	if (!(in >> bytes) || bytes == 0)
		return failure(name + ": cannot read " + bounce_size_path(name));
	return bytes;
}

uint64_t free_huge_pages()
{
	std::ifstream in("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages");
	uint64_t pages = 0;
	if (!(in >> pages))
		return 0;
	return pages;
}

namespace
{

Result<std::pair<UniqueFd, Mapping>> map_memfd(const std::string &device, unsigned flags,
                                               uint64_t size, int map_flags)
{
	std::string label = "vduse-bounce:" + device;
	UniqueFd fd(::memfd_create(label.c_str(), MFD_CLOEXEC | flags));
	if (!fd)
		return errno_error(device + ": cannot create a memfd for the bounce memory");
	if (::ftruncate(fd.get(), static_cast<off_t>(size)) < 0)
		return errno_error(device + ": cannot size the bounce memory to " + mib(size));
	void *addr =
	        ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | map_flags, fd.get(), 0);
	if (addr == MAP_FAILED)
		return errno_error(device + ": cannot map " + mib(size) + " of bounce memory");
	return std::pair<UniqueFd, Mapping>(std::move(fd), Mapping(addr, size));
}

} // namespace

Result<BounceMemory> BounceMemory::allocate(const std::string &device, const std::string &kind,
                                            uint64_t size)
{
	// hugetlbfs reserves the pages at mmap() (ENOMEM if too few are
	// free); MAP_POPULATE also faults them in now.
	if (kind == "hugepage" || kind == "auto") {
		auto mapped = map_memfd(device, MFD_HUGETLB | MFD_HUGE_2MB, size, MAP_POPULATE);
		if (mapped)
			return BounceMemory(std::move(mapped->first), std::move(mapped->second),
			                    "hugepage");
		if (kind == "hugepage")
			return failure(device + ": cannot have " + mib(size) +
			               " of 2 MiB huge pages for the bounce memory (" +
			               std::to_string(free_huge_pages()) +
			               " free); reserve them with 'sysctl vm.nr_hugepages=N': " +
			               mapped.error().message);
	}
	auto mapped = map_memfd(device, 0, size, MAP_POPULATE);
	if (!mapped)
		return mapped.error();
	return BounceMemory(std::move(mapped->first), std::move(mapped->second), "shmem");
}

Status ensure_memlock(uint64_t bytes)
{
	rlimit limit{};
	if (::getrlimit(RLIMIT_MEMLOCK, &limit) < 0)
		return errno_error("getrlimit(RLIMIT_MEMLOCK)");
	if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= bytes)
		return {};
	// Root outside a unit may raise it; under the unit, LimitMEMLOCK= does
	// (its system call filter refuses setrlimit).
	rlimit wanted{RLIM_INFINITY, RLIM_INFINITY};
	if (::setrlimit(RLIMIT_MEMLOCK, &wanted) == 0)
		return {};
	if (limit.rlim_max == RLIM_INFINITY || limit.rlim_max >= bytes) {
		rlimit soft{bytes, limit.rlim_max};
		if (::setrlimit(RLIMIT_MEMLOCK, &soft) == 0)
			return {};
	}
	return failure("the bounce memory needs " + mib(bytes) +
	               " of locked memory and RLIMIT_MEMLOCK allows " + mib(limit.rlim_cur) +
	               " (raise LimitMEMLOCK= or ulimit -l)");
}

} // namespace vduse
