#include "result.h"

#include <cstring>

namespace vduse
{

Error system_error(int code, const std::string &what)
{
	return Error{code, what + ": " + std::strerror(code)};
}

Error errno_error(const std::string &what)
{
	return system_error(errno, what);
}

Error invalid(std::string message)
{
	return Error{EINVAL, std::move(message)};
}

} // namespace vduse
