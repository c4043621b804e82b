// Byte sizes as admins write and read them: "1G", "1.5G", "512MiB", "4096".
#pragma once

#include "base/result.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace vduse
{

// Parses a number of bytes with an optional binary (IEC) unit K, M, G, T,
// P, E, case-insensitive, optionally followed by "i" and "B" ("1G", "1gib",
// "1GB" are 2^30; "7B" is 7). A fraction is taken when the result is a whole
// number of bytes ("1.5G"). Refuses empty, negative, spaced and overflowing
// values, naming the text.
Result<uint64_t> parse_size(std::string_view text);

// For people and for scripts that parse it back: exact, in the largest
// binary unit that shows the value with at most two decimals (1073741824 ->
// "1G", 1610612736 -> "1.5G", 3072 -> "3K"), else the bytes
// (1000000512 -> "1000000512").
std::string format_size(uint64_t bytes);

// For counters people glance at: three significant digits, rounded
// ("11.4G", "512M", "980K", "17").
std::string format_size_rounded(uint64_t bytes);

} // namespace vduse
