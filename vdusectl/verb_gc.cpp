// vdusectl gc: what vdusectl made that no record claims any more (a vdusectl
// killed in the middle of add, a /run wiped under running devices): VDUSE
// devices served by nobody or by a vdused, unit drop-ins, state files. Lists
// them; removes them with --yes. A VDUSE device another program serves (a
// qemu-storage-daemon export) is not ours and is left alone.
#include "verb.h"

#include "base/fd_holders.h"
#include "daemon_launcher.h"
#include "force_delete.h"
#include "unit_dropin.h"
#include "vdpa/vdpa_sysfs.h"
#include "vduse/vduse_control.h"

#include <filesystem>
#include <iostream>
#include <memory>
#include <spdlog/spdlog.h>

namespace fs = std::filesystem;

namespace vduse
{

namespace
{

using namespace std::chrono_literals;

enum class OrphanKind { device, dropin, state_file };

struct Orphan {
	OrphanKind kind;
	std::string name; // the device name it belongs to
	std::string what; // a path, or what the device is
};

std::string_view kind_name(OrphanKind kind)
{
	switch (kind) {
	case OrphanKind::device:
		return "device";
	case OrphanKind::dropin:
		return "unit drop-in";
	case OrphanKind::state_file:
		return "state file";
	}
	return "";
}

bool claimed(const Context &ctx, const std::string &name)
{
	return validate_name(name).ok() && ctx.state.has(name);
}

void find_devices(const Context &ctx, std::vector<Orphan> &found)
{
	std::error_code ec;
	for (const auto &entry : fs::directory_iterator("/sys/class/vduse", ec)) {
		std::string name = entry.path().filename().string();
		if (name == "control" || claimed(ctx, name))
			continue;
		std::vector<FdHolder> others;
		std::string served = "served by nobody";
		for (const FdHolder &holder : fd_holders(device_node_path(name))) {
			if (daemon_alive(holder.pid, name))
				served = "served by vdused pid " + std::to_string(holder.pid);
			else
				others.push_back(holder);
		}
		if (!others.empty()) {
			spdlog::info("{}: served by {}, not made by vdusectl: left alone", name,
			             describe_holders(others));
			continue;
		}
		std::string what = "VDUSE device, " + served;
		if (vdpa_device_exists(name))
			what += ", on the vdpa bus";
		found.push_back({OrphanKind::device, name, what});
	}
}

void find_dropins(const Context &ctx, std::vector<Orphan> &found)
{
	std::error_code ec;
	for (const auto &entry : fs::directory_iterator(runtime_unit_dir(), ec)) {
		std::string file = entry.path().filename().string();
		const std::string prefix = "vdused@", suffix = ".service.d";
		if (file.rfind(prefix, 0) != 0 || file.size() <= prefix.size() + suffix.size() ||
		    file.compare(file.size() - suffix.size(), suffix.size(), suffix) != 0)
			continue;
		std::string name =
		        file.substr(prefix.size(), file.size() - prefix.size() - suffix.size());
		if (!claimed(ctx, name) && fs::exists(unit_dropin_path(name), ec))
			found.push_back(
			        {OrphanKind::dropin, name, unit_dropin_path(name).string()});
	}
}

void find_state_files(const Context &ctx, std::vector<Orphan> &found)
{
	std::error_code ec;
	for (const auto &entry : fs::directory_iterator(ctx.state.root(), ec)) {
		const fs::path &path = entry.path();
		std::string ext = path.extension().string();
		std::string name = path.stem().string();
		if (ext == ".tmp" && fs::path(name).extension() == ".json")
			name = fs::path(name).stem().string();
		else if (ext != ".log" && ext != ".inflight" && ext != ".link" &&
		         ext != ".resized" && ext != ".stats" && ext != ".bounce")
			continue;
		if (!claimed(ctx, name))
			found.push_back({OrphanKind::state_file, name, path.string()});
	}
}

Status remove_orphan(Context &ctx, const Orphan &orphan)
{
	switch (orphan.kind) {
	case OrphanKind::device:
		// The persistent spec stays: a device whose record /run lost
		// comes back from it at the next boot.
		return force_delete_device(ctx, orphan.name, {10s, true});
	case OrphanKind::dropin: {
		bool changed = false;
		remove_unit_dropins(orphan.name, changed);
		return {};
	}
	case OrphanKind::state_file: {
		std::error_code ec;
		fs::remove(orphan.what, ec);
		if (ec)
			return system_error(ec.value(), "cannot remove " + orphan.what);
		return {};
	}
	}
	return {};
}

struct GcArgs {
	bool yes = false;
	std::string json;
};

int collect_garbage(Context &ctx, const GcArgs &args)
{
	auto mode = json_mode(args.json);
	if (!mode)
		return report(mode.error());
	auto lock = lock_state(ctx);
	if (!lock)
		return report(lock.error());
	std::vector<Orphan> found;
	find_devices(ctx, found);
	find_dropins(ctx, found);
	find_state_files(ctx, found);
	int rc = exit_ok;
	std::vector<Record> records;
	for (const Orphan &orphan : found) {
		Record r;
		r.set("kind", std::string(kind_name(orphan.kind)));
		r.set("name", orphan.name);
		r.set("what", orphan.what);
		if (args.yes) {
			auto st = remove_orphan(ctx, orphan);
			if (!st)
				rc = report(st.error());
			r.set("removed", st.ok(), st.ok() ? "removed" : "FAILED");
		} else {
			r.set("removed", false, "-");
		}
		records.push_back(std::move(r));
	}
	static const std::vector<Column> columns = {
	        {"kind", "KIND"}, {"name", "NAME"}, {"what", "WHAT"}, {"removed", "REMOVED"}};
	if (*mode != JsonMode::off)
		std::cout << format_json(records_to_json(records), *mode);
	else if (!records.empty())
		std::cout << format_table(columns, records, true);
	if (!args.yes && !found.empty() && *mode == JsonMode::off)
		print_error(std::to_string(found.size()) +
		            " leftover(s) no record claims; vdusectl gc --yes removes them");
	return rc;
}

} // namespace

Verb gc_verb()
{
	return {"gc", "List (and with --yes remove) what no device record claims",
	        [](CLI::App &cmd) {
		        auto args = std::make_shared<GcArgs>();
		        cmd.add_flag("-y,--yes", args->yes, "Remove what was found");
		        add_json_option(cmd, args->json, "Print what was found as a JSON array");
		        return VerbHandler(
		                [args](Context &ctx) { return collect_garbage(ctx, *args); });
	        }};
}

} // namespace vduse
