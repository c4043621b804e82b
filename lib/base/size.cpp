#include "base/size.h"

#include <array>
#include <charconv>
#include <utility>

namespace vduse
{

namespace
{
constexpr std::array<std::pair<char, unsigned>, 4> units{
        {{'K', 10}, {'M', 20}, {'G', 30}, {'T', 40}}};
}

Result<uint64_t> parse_size(std::string_view text)
{
	uint64_t number = 0;
	auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
	if (ec == std::errc::result_out_of_range)
		return usage_error("size '" + std::string(text) + "' is too large");
	if (ec != std::errc() || end == text.data())
		return usage_error("size '" + std::string(text) + "' is not a number of bytes");
	std::string_view suffix(end, static_cast<size_t>(text.data() + text.size() - end));
	if (suffix.empty())
		return number;
	if (suffix.size() == 3 && (suffix[1] == 'i' && (suffix[2] == 'B')))
		suffix = suffix.substr(0, 1);
	if (suffix.size() == 1) {
		for (auto [letter, shift] : units) {
			if (suffix[0] != letter && suffix[0] != letter + ('a' - 'A'))
				continue;
			if (number > (UINT64_MAX >> shift))
				return usage_error("size '" + std::string(text) + "' is too large");
			return number << shift;
		}
	}
	return usage_error("size '" + std::string(text) + "' has an unknown suffix '" +
	                   std::string(suffix) + "' (use K, M, G or T)");
}

std::string format_size(uint64_t bytes)
{
	for (auto it = units.rbegin(); it != units.rend(); ++it) {
		uint64_t unit = uint64_t{1} << it->second;
		if (bytes != 0 && bytes % unit == 0)
			return std::to_string(bytes / unit) + it->first;
	}
	return std::to_string(bytes);
}

} // namespace vduse
