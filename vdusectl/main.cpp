// vdusectl: the administrator's tool for VDUSE block devices.
#include "config.h"
#include "systemd/systemd_manager.h"
#include "verbs.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

using namespace vduse;

void vduse::print_error(const std::string &message)
{
	std::cerr << "vdusectl: " << message << '\n';
}

namespace
{

int parse_and_run(int argc, char **argv)
{
	CLI::App app{"vdusectl - create, list and remove VDUSE block devices"};
	app.set_version_flag("--version", VDUSE_VERSION);
	app.require_subcommand(1);
	Context ctx;
	std::string state_dir;
	app.add_option("--state-dir", state_dir,
	               "State directory (default: $VDUSE_STATE_DIR or " VDUSE_STATE_DIR ")");
	app.add_flag("-v,--verbose", ctx.verbose, "Log more, and start vdused with --verbose");
	bool no_systemd = false;
	app.add_flag("--no-systemd", no_systemd,
	             "Spawn vdused directly even when systemd runs (also: $VDUSE_NO_SYSTEMD=1)");

	AddOptions add;
	auto *add_cmd = app.add_subcommand("add", "Create a block device served by a new vdused");
	add_cmd->add_option("-t,--type", add.spec.backend, "Backend: null, file or loop")
	        ->required();
	add_cmd->add_option(
	        "-s,--size", add.size,
	        "Size in bytes, with suffix K, M, G or T (file, loop: default the file's size)");
	add_cmd->add_option("-f,--file", add.spec.file,
	                    "Image file (file: created sparse if absent) or block device (loop)");
	add_cmd->add_flag("--direct", add.spec.direct, "file: bypass the page cache (O_DIRECT)");
	add_cmd->add_flag("--grow", add.grow, "file: let --size grow an existing image");
	add_cmd->add_option("-n,--name", add.spec.name,
	                    "Device name (default: the first free vduseN)");
	add_cmd->add_option("-q,--queues", add.spec.queues, "Number of virtqueues (default: 1)");
	add_cmd->add_option("-d,--queue-depth", add.spec.queue_depth,
	                    "Descriptors per queue, a power of two (default: 128)");
	auto *block_size = add_cmd->add_option("-b,--block-size", add.spec.block_size,
	                                       "Logical block size: 512 or 4096 (default: 512)");
	add_cmd->add_flag("-r,--read-only", add.spec.read_only, "Offer a read-only device");
	add_cmd->add_option("--serial", add.spec.serial,
	                    "Serial number reported to the driver (up to 20 bytes)");
	add_cmd->add_option("--driver", add.driver,
	                    "Bind to virtio (host /dev/vdX, default) or vhost (/dev/vhost-vdpa-N)");
	add_cmd->add_flag("-p,--persistent", add.persistent,
	                  "Also record the device under " VDUSE_PERSIST_DIR
	                  " so that it comes back at boot");
	add_cmd->add_flag("-j,--json", ctx.json, "Print the device as JSON, as show --json does");

	std::vector<std::string> del_names;
	bool del_all = false;
	auto *del_cmd = app.add_subcommand("del", "Remove devices and stop their daemons");
	del_cmd->add_option("names", del_names, "Devices to remove");
	del_cmd->add_flag("-a,--all", del_all, "Remove every device vdusectl created");

	auto *list_cmd = app.add_subcommand("list", "List the devices");
	list_cmd->add_flag("-j,--json", ctx.json, "Print a JSON array");
	list_cmd->add_flag("--no-legend", ctx.no_legend, "Print no header line (for scripts)");

	std::string show_name;
	auto *show_cmd = app.add_subcommand("show", "Show one device");
	show_cmd->add_option("name", show_name, "Device")->required();
	show_cmd->add_flag("-j,--json", ctx.json, "Print a JSON object");

	std::string recover_name;
	auto *recover_cmd = app.add_subcommand(
	        "recover", "Start a new vdused for a device whose daemon died; no I/O is lost");
	recover_cmd->add_option("name", recover_name, "Device")->required();
	std::string restart_name;
	auto *restart_cmd = app.add_subcommand(
	        "restart", "Replace a device's vdused (e.g. after an upgrade) without I/O errors");
	restart_cmd->add_option("name", restart_name, "Device")->required();

	auto *restore_cmd = app.add_subcommand(
	        "restore", "Add every persistent device that is not there yet (run at boot)");

	bool check_load = false;
	auto *check_cmd = app.add_subcommand(
	        "check",
	        "Check that this system can run VDUSE devices, with a hint for each problem");
	check_cmd->add_flag("-l,--load", check_load, "Load the kernel modules that are missing");
	check_cmd->add_flag("-j,--json", ctx.json, "Print the checks as a JSON array");

	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &e) {
		app.exit(e);
		return e.get_exit_code() == 0 ? exit_ok : exit_usage;
	}
	// Messages go to stderr: stdout carries the result (the node, JSON).
	spdlog::set_default_logger(spdlog::stderr_logger_mt("vdusectl"));
	spdlog::set_pattern("vdusectl: %v");
	spdlog::set_level(ctx.verbose ? spdlog::level::debug : spdlog::level::warn);
	if (!state_dir.empty())
		ctx.state = StateDir(state_dir);
	ctx.use_systemd = !no_systemd && SystemdManager::available();

	if (add_cmd->parsed()) {
		add.block_size_given = block_size->count() > 0;
		return verb_add(ctx, add);
	}
	if (del_cmd->parsed())
		return verb_del(ctx, del_names, del_all);
	if (list_cmd->parsed())
		return verb_list(ctx);
	if (show_cmd->parsed())
		return verb_show(ctx, show_name);
	if (recover_cmd->parsed())
		return verb_recover(ctx, recover_name);
	if (restart_cmd->parsed())
		return verb_restart(ctx, restart_name);
	if (restore_cmd->parsed())
		return verb_restore(ctx);
	if (check_cmd->parsed())
		return verb_check(ctx, check_load);
	return exit_usage;
}

} // namespace

int main(int argc, char **argv)
{
	try {
		return parse_and_run(argc, argv);
	} catch (const std::exception &e) {
		print_error(e.what());
		return exit_failure;
	}
}
