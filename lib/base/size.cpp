#include "base/size.h"

#include <array>
#include <cctype>
#include <cstdio>
#include <optional>
#include <utility>

namespace vduse
{

namespace
{

constexpr std::array<std::pair<char, unsigned>, 6> units{
        {{'K', 10}, {'M', 20}, {'G', 30}, {'T', 40}, {'P', 50}, {'E', 60}}};

// Room for a 64-bit value shifted by a unit and scaled by a fraction.
__extension__ typedef unsigned __int128 u128; // NOLINT(modernize-use-using)

bool all_digits(std::string_view s)
{
	for (char c : s)
		if (c < '0' || c > '9')
			return false;
	return !s.empty();
}

// digits as a number, if it fits in 2^64 (nullopt otherwise).
std::optional<u128> number_of(std::string_view digits)
{
	u128 n = 0;
	for (char c : digits) {
		n = n * 10 + static_cast<unsigned>(c - '0');
		if (n > UINT64_MAX)
			return std::nullopt;
	}
	return n;
}

} // namespace

Result<uint64_t> parse_size(std::string_view text)
{
	std::string quoted = "size '" + std::string(text) + "'";
	size_t end = 0;
	while (end < text.size() &&
	       (std::isdigit(static_cast<unsigned char>(text[end])) || text[end] == '.'))
		++end;
	std::string_view number = text.substr(0, end);
	std::string_view suffix = text.substr(end);
	size_t dot = number.find('.');
	std::string_view whole = number.substr(0, dot);
	std::string_view fraction =
	        dot == std::string_view::npos ? std::string_view() : number.substr(dot + 1);
	if (!all_digits(whole) || (dot != std::string_view::npos && !all_digits(fraction)))
		return usage_error(quoted +
		                   " is not a number of bytes (such as 4096, 512M or 1.5G)");
	// The unit: K..E, then an optional "i", then an optional "B"; or "B".
	unsigned shift = 0;
	std::string upper;
	for (char c : suffix)
		upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
	std::string_view rest = upper;
	if (!rest.empty()) {
		for (auto [letter, bits] : units)
			if (rest[0] == letter) {
				shift = bits;
				rest.remove_prefix(1);
				if (!rest.empty() && rest[0] == 'I')
					rest.remove_prefix(1);
				break;
			}
		if (rest == "B")
			rest.remove_prefix(1);
		if (!rest.empty())
			return usage_error(quoted + " has an unknown unit '" + std::string(suffix) +
			                   "' (use K, M, G, T, P or E, optionally with iB or B)");
	}
	auto w = number_of(whole);
	if (fraction.size() > 18 || !w)
		return usage_error(quoted + " is too large or too precise");
	u128 bytes = *w << shift;
	if (!fraction.empty()) {
		u128 scale = 1;
		for (size_t i = 0; i < fraction.size(); ++i)
			scale *= 10;
		u128 part = *number_of(fraction) << shift;
		if (part % scale != 0)
			return usage_error(quoted + " is not a whole number of bytes");
		bytes += part / scale;
	}
	if (bytes > UINT64_MAX)
		return usage_error(quoted + " is too large");
	return static_cast<uint64_t>(bytes);
}

std::string format_size(uint64_t bytes)
{
	for (auto it = units.rbegin(); it != units.rend(); ++it) {
		u128 unit = u128{1} << it->second;
		if (bytes < unit)
			continue;
		u128 hundredths = u128{bytes} * 100;
		if (hundredths % unit != 0 || bytes / unit >= 1024)
			continue;
		auto value = static_cast<uint64_t>(hundredths / unit);
		std::string text = std::to_string(value / 100);
		if (uint64_t cents = value % 100; cents != 0) {
			text += '.';
			text += static_cast<char>('0' + cents / 10);
			if (cents % 10 != 0)
				text += static_cast<char>('0' + cents % 10);
		}
		return text + it->first;
	}
	return std::to_string(bytes);
}

std::string format_size_rounded(uint64_t bytes)
{
	for (auto it = units.rbegin(); it != units.rend(); ++it) {
		double value =
		        static_cast<double>(bytes) / static_cast<double>(uint64_t{1} << it->second);
		if (value < 1)
			continue;
		std::array<char, 32> text{};
		(void)std::snprintf(text.data(), text.size(), value < 99.95 ? "%.1f" : "%.0f",
		                    value);
		std::string out = text.data();
		if (out.size() > 2 && out.compare(out.size() - 2, 2, ".0") == 0)
			out.resize(out.size() - 2);
		return out + it->first;
	}
	return std::to_string(bytes);
}

} // namespace vduse
