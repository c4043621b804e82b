// vdusectl list: every device as a table (or JSON), one row each.
#include "verb.h"

#include "device_report.h"

#include <iostream>
#include <memory>

namespace vduse
{

namespace
{

struct ListArgs {
	std::string json;
	std::string columns;
	bool no_legend = false;
};

int list_devices(Context &ctx, const ListArgs &args)
{
	auto mode = json_mode(args.json);
	if (!mode)
		return report(mode.error());
	auto columns = select_columns(device_columns(), args.columns.empty()
	                                                        ? list_default_columns
	                                                        : std::string_view(args.columns));
	if (!columns)
		return report(columns.error());
	int rc = exit_ok;
	std::vector<Record> records = read_device_records(ctx.state, ctx.state.names(), rc);
	if (*mode != JsonMode::off) {
		// -o chooses the fields of the JSON objects too.
		std::cout << format_json(args.columns.empty() ? records_to_json(records)
		                                              : records_to_json(records, *columns),
		                         *mode);
	} else {
		std::cout << format_table(*columns, records, !args.no_legend);
	}
	return rc;
}

} // namespace

Verb list_verb()
{
	return {"list", "List the devices", [](CLI::App &cmd) {
		        auto args = std::make_shared<ListArgs>();
		        add_json_option(cmd, args->json,
		                        "Print a JSON array of the objects show prints");
		        cmd.add_option("-o,--output", args->columns,
		                       "Columns to print, comma-separated (see DEVICE FIELDS in "
		                       "vdusectl(8))")
		                ->type_name("COLUMNS");
		        cmd.add_flag("--no-legend", args->no_legend,
		                     "Print no header line (for scripts)");
		        return VerbHandler(
		                [args](Context &ctx) { return list_devices(ctx, *args); });
	        }};
}

} // namespace vduse
