#include "backend.h"

#include "file_backend.h"
#include "null_backend.h"

namespace vduse
{

Result<std::unique_ptr<Backend>> make_backend(const DeviceSpec &spec)
{
	if (spec.backend == "null")
		return std::unique_ptr<Backend>(std::make_unique<NullBackend>());
	if (spec.backend == "file" || spec.backend == "loop")
		return FileBackend::open(spec);
	return failure(spec.name + ": unknown backend '" + spec.backend + "'");
}

} // namespace vduse
