#include "base/cpu_list.h"

#include <algorithm>
#include <charconv>
#include <fstream>

namespace vduse
{

namespace
{

bool parse_cpu(std::string_view text, unsigned &cpu)
{
	if (text.empty())
		return false;
	auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), cpu);
	return ec == std::errc() && end == text.data() + text.size() && cpu < cpu_max;
}

} // namespace

Result<std::vector<unsigned>> parse_cpu_list(std::string_view text)
{
	auto bad = [&](const std::string &why) {
		return usage_error("CPU list '" + std::string(text) + "' " + why);
	};
	if (text.empty())
		return bad("is empty");
	std::vector<unsigned> cpus;
	size_t start = 0;
	while (start <= text.size()) {
		size_t comma = text.find(',', start);
		std::string_view item = text.substr(
		        start, comma == std::string_view::npos ? text.npos : comma - start);
		size_t dash = item.find('-');
		unsigned first = 0;
		unsigned last = 0;
		if (!parse_cpu(item.substr(0, dash), first) ||
		    (dash != std::string_view::npos && !parse_cpu(item.substr(dash + 1), last)))
			return bad("is not CPU numbers below " + std::to_string(cpu_max) +
			           " and ranges like 0-3, separated by commas");
		if (dash == std::string_view::npos)
			last = first;
		if (last < first)
			return bad("has a reversed range");
		for (unsigned cpu = first; cpu <= last; ++cpu)
			cpus.push_back(cpu);
		if (comma == std::string_view::npos)
			break;
		start = comma + 1;
	}
	std::sort(cpus.begin(), cpus.end());
	cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
	return cpus;
}

std::string cpu_mask_text(unsigned cpu)
{
	// Groups of 32 bits, most significant first.
	unsigned groups = cpu / 32 + 1;
	std::string text;
	for (unsigned g = groups; g-- > 0;) {
		uint32_t bits = g == cpu / 32 ? uint32_t{1} << (cpu % 32) : 0;
		char group[9];
		auto [end, ec] = std::to_chars(group, group + 8, bits, 16);
		std::string digits(group, end);
		if (g != groups - 1)
			digits.insert(0, 8 - digits.size(), '0');
		text += (text.empty() ? "" : ",") + digits;
	}
	return text;
}

std::vector<unsigned> online_cpus()
{
	std::ifstream in("/sys/devices/system/cpu/online");
	std::string line;
	if (std::getline(in, line)) {
		auto cpus = parse_cpu_list(line);
		if (cpus)
			return *cpus;
	}
	return {0};
}

} // namespace vduse
