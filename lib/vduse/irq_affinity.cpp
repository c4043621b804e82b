#include "vduse/irq_affinity.h"

#include "base/cpu_list.h"
#include "base/unique_fd.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <fstream>
#include <spdlog/spdlog.h>
#include <unistd.h>

namespace vduse
{

std::string irq_affinity_path(const std::string &device, uint32_t index)
{
	return "/sys/class/vduse/" + device + "/vq" + std::to_string(index) + "/irq_cb_affinity";
}

Status set_irq_affinity(const std::string &device, uint32_t index,
                        const std::vector<unsigned> &cpus)
{
	std::string path = irq_affinity_path(device, index);
	std::string mask = cpu_mask_text(cpus);
	UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
	if (!fd || ::write(fd.get(), mask.data(), mask.size()) != static_cast<ssize_t>(mask.size()))
		return errno_error("cannot write " + mask + " to " + path);
	return {};
}

void keep_irq_affinity_online(const std::string &device, uint32_t index)
{
	std::string path = irq_affinity_path(device, index);
	std::string text;
	{
		std::ifstream in(path);
		if (!in)
			return;
		std::getline(in, text);
	}
	auto mask = parse_cpu_mask(text);
	if (!mask) {
		spdlog::error("{}: {}: {}", device, path, mask.error().message);
		return;
	}
	std::vector<unsigned> online = online_cpus();
	if (std::any_of(mask->begin(), mask->end(), [&](unsigned cpu) {
		    return std::binary_search(online.begin(), online.end(), cpu);
	    }))
		return;
	if (auto st = set_irq_affinity(device, index, online); !st)
		spdlog::error(
		        "{}: queue {}'s interrupts are bound to offline CPUs only ({}), where "
		        "the kernel would loop for ever injecting one: {}",
		        device, index, text, st.error().message);
	else
		spdlog::warn(
		        "{}: queue {}'s interrupts were bound to offline CPUs only ({}), where "
		        "the kernel would loop for ever injecting one (vduse_dev.c, "
		        "vduse_vq_update_effective_cpu): now to the online CPUs ({})",
		        device, index, text, cpu_mask_text(online));
}

} // namespace vduse
