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

// Every option and positional of COMMAND that takes a value refuses the
// empty string ("--size: the value is empty"), which no option of ours gives
// a meaning (CLI11 reads it as 0 for a number).
void refuse_empty_values(CLI::App &command);

} // namespace vduse
