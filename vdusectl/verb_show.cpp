// vdusectl show: devices one field a line (or as JSON).
#include "verb.h"

#include "device_report.h"

#include <iostream>
#include <memory>

namespace vduse
{

namespace
{

struct ShowArgs {
	std::vector<std::string> names;
	std::string json;
};

int show_devices(Context &ctx, const ShowArgs &args)
{
	auto mode = json_mode(args.json);
	if (!mode)
		return report(mode.error());
	if (auto st = validate_names(args.names); !st)
		return report(st.error());
	// One shape whatever the number of names: an array (a script's jq
	// '.[0].pid' works for one name as for several).
	std::vector<std::string> names = args.names.empty() ? ctx.state.names() : args.names;
	int rc = exit_ok;
	std::vector<Record> records = read_device_records(ctx.state, names, rc);
	if (*mode != JsonMode::off) {
		std::cout << format_json(records_to_json(records), *mode);
		return rc;
	}
	for (size_t i = 0; i < records.size(); ++i)
		std::cout << (i ? "\n" : "") << format_vertical(device_columns(), records[i]);
	return rc;
}

} // namespace

Verb show_verb()
{
	return {"show", "Show devices, one field a line", [](CLI::App &cmd) {
		        auto args = std::make_shared<ShowArgs>();
		        cmd.add_option("names", args->names, "Devices (default: every device)")
		                ->type_name("NAME");
		        add_json_option(cmd, args->json,
		                        "Print a JSON array of the devices' objects, for one name "
		                        "as for several");
		        return VerbHandler(
		                [args](Context &ctx) { return show_devices(ctx, *args); });
	        }};
}

} // namespace vduse
