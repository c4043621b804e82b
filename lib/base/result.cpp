#include "base/result.h"

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

Error failure(std::string message)
{
	return Error{0, std::move(message), ErrorKind::failure};
}

Error usage_error(std::string message)
{
	return Error{0, std::move(message), ErrorKind::usage};
}

Error with_context(const std::string &prefix, Error error)
{
	error.message = prefix + ": " + error.message;
	return error;
}

} // namespace vduse
