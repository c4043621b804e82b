#include "backend.h"

#include "file_backend.h"
#include "nbd_backend.h"
#include "null_backend.h"
#include "rbd_backend.h"
#include "vhost_user_backend.h"

namespace vduse
{

Result<std::unique_ptr<Backend>>
make_backend(const DeviceSpec &spec, const std::filesystem::path &link_file, StatusLine &status)
{
	if (spec.backend == "nbd")
		return NbdBackend::open(spec, link_file, status);
	if (spec.backend == "rbd")
		return RbdBackend::open(spec, link_file, status);
	if (spec.backend == "vhost-user")
		return VhostUserBackend::open(spec, link_file, status);
	if (spec.backend == "null")
		return std::unique_ptr<Backend>(std::make_unique<NullBackend>());
	if (spec.backend == "file" || spec.backend == "loop")
		return FileBackend::open(spec);
	return failure(spec.name + ": unknown backend '" + spec.backend + "'");
}

} // namespace vduse
