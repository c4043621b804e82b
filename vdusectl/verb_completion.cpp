// vdusectl completion bash|zsh|fish: the shell completion generated from the
// verb table (completion_script.h); the build installs its output.
#include "verb.h"

#include "completion_script.h"
#include "device_report.h"

#include <iostream>
#include <memory>

namespace vduse
{

Verb completion_verb()
{
	return {"completion", "Print the shell completion for bash, zsh or fish",
	        [](CLI::App &cmd) {
		        auto shell = std::make_shared<std::string>();
		        cmd.add_option("shell", *shell, "The shell")
		                ->required()
		                ->type_name("bash|zsh|fish");
		        const CLI::App *top = cmd.get_parent();
		        return VerbHandler([shell, top](Context &) {
			        std::vector<std::string> columns;
			        for (const Column &c : device_columns())
				        columns.push_back(c.key);
			        auto script = completion_script(*top, *shell, columns);
			        if (!script)
				        return report(script.error());
			        std::cout << *script;
			        return exit_ok;
		        });
	        }};
}

} // namespace vduse
