// The null backend: reads return zeros, everything else succeeds at once.
// It measures what the data path itself costs.
#pragma once

#include "backend.h"

namespace vduse
{

class NullBackend final : public Backend
{
public:
	Result<std::unique_ptr<QueueBackend>> open_queue(uint32_t index, uint32_t depth) override;
};

} // namespace vduse
