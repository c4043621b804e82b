#include "modes.h"

#include <cstring>

namespace vduse::client
{

void fill_pattern(uint8_t *dst, uint32_t bytes, uint64_t block, uint32_t generation)
{
	if (generation == 0) {
		std::memset(dst, 0, bytes);
		return;
	}
	uint64_t x = (block + 1) * 0x9e3779b97f4a7c15ULL ^ generation * 0xd1b54a32d192ed03ULL;
	for (uint32_t i = 0; i < bytes; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		std::memcpy(dst + i, &x, std::min<uint32_t>(8, bytes - i));
	}
}

} // namespace vduse::client
