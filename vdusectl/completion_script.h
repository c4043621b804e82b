// Shell completions generated from the verb table: every verb, option and
// argument as declared on vdusectl's CLI11 commands, and what each value is
// (the option's type name: FILE, DIR, USER, NAME for a device, PERSISTENT
// for a persistent device, COLUMNS, or a choice written "a|b|c", whose
// lower-case words are offered). `vdusectl completion bash|zsh|fish` prints
// them; the build installs them, so they cannot drift from the code.
#pragma once

#include "base/result.h"

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace vduse
{

// APP: vdusectl's top-level command, its verbs declared. COLUMNS: what
// COLUMNS values complete to (list -o).
Result<std::string> completion_script(const CLI::App &app, const std::string &shell,
                                      const std::vector<std::string> &columns);

} // namespace vduse
