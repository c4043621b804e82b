// vdusectl check: can this system run VDUSE block devices? Each check says
// what it found and, when it fails, how to fix it.
#include "verb.h"

#include "vdpa/vdpa_netlink.h"
#include "vduse/vduse_control.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <libkmod.h>
#include <linux/capability.h>
#include <linux/vduse.h>
#include <memory>
#include <nlohmann/json.hpp>
#include <sys/ioctl.h>
#include <sys/utsname.h>

namespace fs = std::filesystem;

namespace vduse
{

namespace
{

struct Check {
	std::string name;
	bool ok = false;
	std::string found;
	std::string hint;  // how to fix it, when not ok
	std::string cause; // the failure's root cause, shared by every check it fails
};

// The root cause of a module that is not in the kernel at all: one for all
// such modules, whose fix is one kernel built with all of their options.
constexpr const char *kernel_cause = "kernel";

struct KmodCtxDeleter {
	void operator()(kmod_ctx *ctx) const { kmod_unref(ctx); }
};
struct KmodModDeleter {
	void operator()(kmod_module *mod) const { kmod_module_unref(mod); }
};

// A module and what it leaves in sysfs when it is in the kernel: built-in
// modules without parameters have no /sys/module entry, so look for the
// module's own work instead.
struct ModuleProbe {
	const char *name;
	const char *evidence;
	const char *config; // the kernel option that builds it
};
constexpr ModuleProbe modules[] = {
        {"vdpa", "/sys/bus/vdpa", "CONFIG_VDPA"},
        {"vduse", "/sys/class/vduse", "CONFIG_VDPA_USER"},
        {"virtio_vdpa", "/sys/bus/vdpa/drivers/virtio_vdpa", "CONFIG_VIRTIO_VDPA"},
        {"vhost_vdpa", "/sys/bus/vdpa/drivers/vhost_vdpa", "CONFIG_VHOST_VDPA"},
};

Check check_module(kmod_ctx *kmod, const ModuleProbe &probe, bool load)
{
	Check c{std::string("module ") + probe.name, false, {}, {}, {}};
	std::error_code ec;
	auto present = [&] { return fs::exists(probe.evidence, ec); };
	bool loaded = fs::exists(fs::path("/sys/module") / probe.name / "initstate", ec);
	if (loaded && present()) {
		c.ok = true;
		c.found = "loaded";
		return c;
	}
	if (present()) {
		c.ok = true;
		c.found = "built into the kernel";
		return c;
	}
	kmod_module *raw = nullptr;
	if (kmod && kmod_module_new_from_name(kmod, probe.name, &raw) == 0) {
		std::unique_ptr<kmod_module, KmodModDeleter> mod(raw);
		bool loadable = kmod_module_get_path(mod.get()) != nullptr;
		if (loadable && load) {
			int err = kmod_module_probe_insert_module(mod.get(), 0, nullptr, nullptr,
			                                          nullptr, nullptr);
			if (err == 0 && present()) {
				c.ok = true;
				c.found = "loaded now";
				return c;
			}
			c.found = "loading failed: " + std::string(std::strerror(-err));
			c.hint = std::string("see dmesg; modprobe ") + probe.name;
			return c;
		}
		if (loadable) {
			c.found = "not loaded, loadable";
			c.hint = std::string("vdusectl check --load, or modprobe ") + probe.name +
			         " (the installed modules-load.d file loads it at boot)";
			return c;
		}
	}
	utsname uts{};
	::uname(&uts);
	c.found = "not in the kernel";
	c.hint = std::string("this kernel (") + uts.release + ") has no " + probe.name +
	         " module: use a kernel built with " + probe.config + "=m or =y";
	c.cause = kernel_cause;
	return c;
}

// The fix for a check that fails because the module may be missing: the
// module check's own hint when the module is not there (no kernel support:
// "use a kernel built with ..."; loading failed: "see dmesg"; loadable:
// "vdusectl check --load"), never a command that just failed.
// Sets the check's hint and cause.
void module_fix(Check &check, const std::vector<Check> &checks, const std::string &module,
                const std::string &when_loaded)
{
	for (const Check &c : checks) {
		if (c.name == "module " + module && !c.ok) {
			check.hint = c.hint;
			check.cause = c.cause.empty() ? c.name : c.cause;
			return;
		}
	}
	check.hint = when_loaded;
}

Check check_control(const std::vector<Check> &modules_found)
{
	Check c{"/dev/vduse/control", false, {}, {}, {}};
	std::error_code ec;
	if (!fs::exists(control_path, ec)) {
		c.found = "missing";
		module_fix(c, modules_found, "vduse",
		           "the vduse module is loaded but made no control node: see dmesg");
		return c;
	}
	UniqueFd fd(::open(control_path, O_RDWR | O_CLOEXEC));
	if (!fd) {
		c.found = std::string("cannot open: ") + std::strerror(errno);
		c.hint = "run as root, or add a udev rule giving your group access "
		         "(see the installed 60-vduse.rules)";
		return c;
	}
	uint64_t version = 0;
	if (::ioctl(fd.get(), VDUSE_GET_API_VERSION, &version) < 0) {
		c.found = std::string("VDUSE_GET_API_VERSION failed: ") + std::strerror(errno);
		c.hint = "the kernel's VDUSE is too old; Linux 5.15 or later is needed";
		return c;
	}
	// vdused speaks version 0, which every kernel with VDUSE knows.
	c.ok = true;
	c.found = "present, API version " + std::to_string(version);
	return c;
}

Check check_netlink(const std::vector<Check> &modules_found)
{
	Check c{"vdpa netlink: management device vduse", false, {}, {}, {}};
	auto netlink = VdpaNetlink::connect();
	if (!netlink) {
		c.found = "no vdpa netlink family";
		module_fix(c, modules_found, "vdpa", "see dmesg");
		return c;
	}
	if (auto st = netlink->check_management_device("vduse"); !st) {
		c.found = st.error().message;
		module_fix(c, modules_found, "vduse", "see dmesg");
		return c;
	}
	c.ok = true;
	c.found = "present";
	return c;
}

Check check_driver(const std::vector<Check> &modules_found, const char *driver)
{
	Check c{std::string("vdpa driver ") + driver, false, {}, {}, {}};
	std::error_code ec;
	c.ok = fs::exists(fs::path("/sys/bus/vdpa/drivers") / driver, ec);
	c.found = c.ok ? "registered" : "not registered";
	if (!c.ok)
		module_fix(c, modules_found, driver, "see dmesg");
	return c;
}

Check check_capabilities()
{
	Check c{"capabilities", false, {}, {}, {}};
	std::ifstream in("/proc/self/status");
	std::string line;
	uint64_t eff = 0;
	while (std::getline(in, line)) {
		if (line.rfind("CapEff:", 0) == 0)
			eff = std::stoull(line.substr(7), nullptr, 16);
	}
	bool net_admin = eff & (uint64_t{1} << CAP_NET_ADMIN);
	c.ok = net_admin;
	c.found = net_admin ? "CAP_NET_ADMIN (vdpa netlink)" : "no CAP_NET_ADMIN";
	if (!c.ok)
		c.hint = "run as root: attaching to the vdpa bus needs CAP_NET_ADMIN";
	return c;
}

// Every failing check gets a cause: its own name when nothing else failed
// it. The modules the kernel lacks share one fix: a kernel with all of them.
void group_causes(std::vector<Check> &checks)
{
	std::string configs;
	std::string missing;
	size_t count = 0;
	for (const auto &probe : modules) {
		for (const Check &c : checks) {
			if (c.name == std::string("module ") + probe.name &&
			    c.cause == kernel_cause) {
				configs +=
				        (configs.empty() ? "" : ", ") + std::string(probe.config);
				missing += (missing.empty() ? "" : ", ") + std::string(probe.name);
				++count;
			}
		}
	}
	utsname uts{};
	::uname(&uts);
	for (Check &c : checks) {
		if (c.ok)
			continue;
		if (c.cause.empty())
			c.cause = c.name;
		if (c.cause == kernel_cause)
			c.hint = std::string("this kernel (") + uts.release + ") has no " +
			         missing + (count == 1 ? " module" : " modules") +
			         ": use a kernel built with " + configs + " (=m or =y)";
	}
}

// TEXT wrapped at 80 columns, every line but the first indented by INDENT
// spaces (the first follows what the caller printed).
std::string wrapped(const std::string &text, size_t indent)
{
	constexpr size_t width = 80;
	std::string out;
	size_t column = indent;
	size_t pos = 0;
	while (pos < text.size()) {
		size_t end = text.find(' ', pos);
		std::string word = text.substr(pos, end == std::string::npos ? end : end - pos);
		pos = end == std::string::npos ? text.size() : end + 1;
		if (column > indent && column + 1 + word.size() > width) {
			out += "\n" + std::string(indent, ' ');
			column = indent;
		} else if (column > indent) {
			out += ' ';
			++column;
		}
		out += word;
		column += word.size();
	}
	return out + "\n";
}

// One line a check that passed; a failure's root cause once, with its fix
// and the checks it fails under it, in 80 columns.
std::string format_checks(const std::vector<Check> &checks)
{
	std::string out;
	std::vector<std::string> shown;
	for (const Check &c : checks) {
		if (c.ok) {
			out += "ok    " + wrapped(c.name + ": " + c.found, 6);
			continue;
		}
		if (std::find(shown.begin(), shown.end(), c.cause) != shown.end())
			continue;
		shown.push_back(c.cause);
		std::vector<const Check *> group;
		for (const Check &other : checks) {
			if (!other.ok && other.cause == c.cause)
				group.push_back(&other);
		}
		const std::string &fix = c.hint;
		std::string headline = c.cause == kernel_cause ? fix.substr(0, fix.find(':'))
		                                               : c.name + ": " + c.found;
		out += "FAIL  " + wrapped(headline, 6);
		out += "      fix: " +
		       wrapped(c.cause == kernel_cause ? fix.substr(fix.find(':') + 2) : fix, 11);
		if (group.size() == 1 && c.cause != kernel_cause)
			continue;
		for (const Check *member : group)
			out += "      - " + wrapped(member->name + ": " + member->found, 8);
	}
	return out;
}

struct CheckArgs {
	bool load = false;
	std::string json;
};

int run_checks(const CheckArgs &args)
{
	auto mode = json_mode(args.json);
	if (!mode)
		return report(mode.error());
	std::unique_ptr<kmod_ctx, KmodCtxDeleter> kmod(kmod_new(nullptr, nullptr));
	if (kmod)
		kmod_load_resources(kmod.get());
	std::vector<Check> checks;
	for (const auto &probe : modules)
		checks.push_back(check_module(kmod.get(), probe, args.load));
	std::vector<Check> modules_found = checks;
	checks.push_back(check_control(modules_found));
	checks.push_back(check_netlink(modules_found));
	checks.push_back(check_driver(modules_found, "virtio_vdpa"));
	checks.push_back(check_driver(modules_found, "vhost_vdpa"));
	checks.push_back(check_capabilities());

	group_causes(checks);
	bool all_ok =
	        std::all_of(checks.begin(), checks.end(), [](const Check &c) { return c.ok; });
	if (*mode != JsonMode::off) {
		std::vector<Record> records;
		for (const auto &c : checks) {
			Record r;
			r.set("check", c.name);
			r.set("ok", c.ok);
			r.set("found", c.found);
			r.set("hint", c.ok ? nlohmann::ordered_json(nullptr)
			                   : nlohmann::ordered_json(c.hint));
			r.set("cause", c.ok ? nlohmann::ordered_json(nullptr)
			                    : nlohmann::ordered_json(c.cause));
			records.push_back(std::move(r));
		}
		std::cout << format_json(records_to_json(records), *mode);
	} else {
		std::cout << format_checks(checks);
	}
	return all_ok ? exit_ok : exit_failure;
}

} // namespace

Verb check_verb()
{
	return {"check",
	        "Check that this system can run VDUSE devices, with a hint for each problem",
	        [](CLI::App &cmd) {
		        auto args = std::make_shared<CheckArgs>();
		        cmd.add_flag("-l,--load", args->load,
		                     "Load the kernel modules that are missing");
		        add_json_option(cmd, args->json, "Print the checks as a JSON array");
		        return VerbHandler([args](Context &) { return run_checks(*args); });
	        }};
}

} // namespace vduse
