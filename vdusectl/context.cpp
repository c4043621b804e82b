#include "context.h"

#include <iostream>

namespace vduse
{

void print_error(const std::string &message)
{
	std::cerr << "vdusectl: " << message << '\n';
}

int report(const Error &error)
{
	print_error(error.message);
	return error.is_usage() ? exit_usage : exit_failure;
}

} // namespace vduse
