// /sys/class/vduse/NAME/vqN/irq_cb_affinity: the CPUs on which
// VDUSE_VQ_INJECT_IRQ runs a queue's completion work (the driver's
// callback), one after the other (drivers/vdpa/vdpa_user/vduse_dev.c).
#pragma once

#include "base/result.h"

#include <cstdint>
#include <string>
#include <vector>

namespace vduse
{

std::string irq_affinity_path(const std::string &device, uint32_t index);

// Binds queue index's completion work to cpus (the kernel refuses a set
// with no CPU online).
Status set_irq_affinity(const std::string &device, uint32_t index,
                        const std::vector<unsigned> &cpus);

// VDUSE_VQ_INJECT_IRQ loops in the kernel for ever when none of the queue's
// CPUs is online (vduse_vq_update_effective_cpu, Linux 6.12): such a mask
// is set to the CPUs online now, with a warning naming both. Nothing if it
// has an online CPU, or the kernel has no such file (before 6.9: nor the
// loop); an error logged if it cannot be read or set.
void keep_irq_affinity_online(const std::string &device, uint32_t index);

} // namespace vduse
