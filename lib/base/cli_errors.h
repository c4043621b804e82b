// A command line parser's error in the project's voice: one line naming the
// option and the bad value, not CLI11's own text ("Could not convert:
// --queues = -1", "1 required TEXT missing").
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace vduse
{

// What went wrong, without a program or verb prefix: "--queues: '-1' is not
// a whole number". app: the (sub)command being parsed, to learn the
// option's type.
std::string parse_error_text(const CLI::App &app, const CLI::ParseError &error);

} // namespace vduse
