// Byte sizes as admins write them: "1G", "512M", "4096", "1.5T" is refused.
#pragma once

#include "base/result.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace vduse
{

// Parses a whole number of bytes with an optional binary suffix K, M, G, T
// (also KiB, MiB, GiB, TiB). Refuses empty, negative, fractional and
// overflowing values.
Result<uint64_t> parse_size(std::string_view text);

// The largest exact binary unit: 1073741824 -> "1G", 1536 -> "1536", 3072 -> "3K".
std::string format_size(uint64_t bytes);

} // namespace vduse
