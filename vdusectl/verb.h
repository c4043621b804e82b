// The verb table. Each verb_*.cpp defines one Verb: its name, a one-line
// summary, and a function that declares its options and arguments on the
// verb's CLI11 command and returns the handler that runs it. main.cpp lists
// the verbs, parses the global options (before or after the verb) and runs
// the handler of the verb given.
#pragma once

#include "context.h"
#include "output.h"

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace vduse
{

using VerbHandler = std::function<int(Context &)>;

struct Verb {
	const char *name;
	const char *summary;
	VerbHandler (*declare)(CLI::App &command);
};

Verb add_verb();
Verb del_verb();
Verb list_verb();
Verb show_verb();
Verb recover_verb();
Verb restart_verb();
Verb restore_verb();
Verb resize_verb();
Verb bind_verb();
Verb detach_verb();
Verb gc_verb();
Verb stats_verb();
Verb persist_verb();
Verb unpersist_verb();
Verb check_verb();
Verb completion_verb();

// -j/--json[=pretty|short|off] on COMMAND, stored as typed in MODE.
void add_json_option(CLI::App &command, std::string &mode, const std::string &what);
// The mode as typed, against whether stdout is a terminal.
Result<JsonMode> json_mode(const std::string &typed);

} // namespace vduse
