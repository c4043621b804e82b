// CPU lists as the kernel and taskset write them: "0-3,8,10-11".
#pragma once

#include "base/result.h"

#include <string>
#include <string_view>
#include <vector>

namespace vduse
{

inline constexpr unsigned cpu_max = 8192; // NR_CPUS's largest configured value

// The CPUs of a list, ascending and without repeats. Refuses empty lists,
// reversed ranges, CPUs of cpu_max or more and anything but digits, '-'
// and ','.
Result<std::vector<unsigned>> parse_cpu_list(std::string_view text);

// The kernel's hexadecimal bitmap of one CPU, in 32-bit groups separated by
// commas (what /sys/.../irq_cb_affinity takes, lib/bitmap.c's bitmap_parse).
std::string cpu_mask_text(unsigned cpu);
// The same bitmap of several CPUs (ascending, below cpu_max; not empty).
std::string cpu_mask_text(const std::vector<unsigned> &cpus);
// The CPUs of such a bitmap, as /sys/.../irq_cb_affinity shows it (lib/
// vsprintf.c's "%*pb": hexadecimal, 32-bit groups separated by commas).
Result<std::vector<unsigned>> parse_cpu_mask(std::string_view text);

// The CPUs online now (/sys/devices/system/cpu/online).
std::vector<unsigned> online_cpus();

} // namespace vduse
