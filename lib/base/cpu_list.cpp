#include "base/cpu_list.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
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
	return cpu_mask_text(std::vector<unsigned>{cpu});
}

std::string cpu_mask_text(const std::vector<unsigned> &cpus)
{
	// Groups of 32 bits, most significant first.
	unsigned groups = cpus.empty() ? 1 : cpus.back() / 32 + 1;
	std::vector<uint32_t> bits(groups);
	for (unsigned cpu : cpus)
		bits[cpu / 32] |= uint32_t{1} << (cpu % 32);
	std::string text;
	for (unsigned g = groups; g-- > 0;) {
		char group[9];
		auto [end, ec] = std::to_chars(group, group + 8, bits[g], 16);
		std::string digits(group, end);
		if (g != groups - 1)
			digits.insert(0, 8 - digits.size(), '0');
		text += (text.empty() ? "" : ",") + digits;
	}
	return text;
}

Result<std::vector<unsigned>> parse_cpu_mask(std::string_view text)
{
	while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
		text.remove_suffix(1);
	auto bad = [&] {
		return failure("CPU mask '" + std::string(text) +
		               "' is not 32-bit groups of hexadecimal digits separated by commas");
	};
	std::vector<std::string_view> groups;
	for (size_t start = 0;;) {
		size_t comma = text.find(',', start);
		groups.push_back(
		        text.substr(start, comma == text.npos ? text.npos : comma - start));
		if (comma == text.npos)
			break;
		start = comma + 1;
	}
	if (groups.size() > cpu_max / 32)
		return bad();
	std::vector<unsigned> cpus;
	for (size_t g = 0; g < groups.size(); ++g) {
		std::string_view group = groups[groups.size() - 1 - g]; // least significant last
		uint32_t bits = 0;
		if (group.empty() || group.size() > 8)
			return bad();
		auto [end, ec] =
		        std::from_chars(group.data(), group.data() + group.size(), bits, 16);
		if (ec != std::errc() || end != group.data() + group.size())
			return bad();
		for (unsigned b = 0; b < 32; ++b)
			if (bits & (uint32_t{1} << b))
				cpus.push_back(static_cast<unsigned>(g * 32 + b));
	}
	return cpus;
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
