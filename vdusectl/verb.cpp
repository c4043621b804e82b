#include "verb.h"

#include <unistd.h>

namespace vduse
{

void add_json_option(CLI::App &command, std::string &mode, const std::string &what)
{
	command.add_flag("-j,--json{pretty}", mode,
	                 what + "; --json=short prints one line, --json=pretty (the default on "
	                        "a terminal) indents it");
}

Result<JsonMode> json_mode(const std::string &typed)
{
	if (typed.empty())
		return JsonMode::off;
	return parse_json_mode(typed, ::isatty(STDOUT_FILENO) == 1);
}

} // namespace vduse
