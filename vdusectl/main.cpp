// vdusectl: the administrator's tool for VDUSE block devices. This file holds
// the global options, the verb table and the dispatch; each verb is in its
// own verb_*.cpp.
#include "base/cli_errors.h"
#include "config.h"
#include "systemd/systemd_manager.h"
#include "verb.h"

#include <array>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

using namespace vduse;

namespace
{

constexpr std::array verb_table = {add_verb,       del_verb,     list_verb,    show_verb,
                                   stats_verb,     resize_verb,  bind_verb,    detach_verb,
                                   recover_verb,   restart_verb, restore_verb, persist_verb,
                                   unpersist_verb, gc_verb,      check_verb,   completion_verb};

// The verbs that change devices: they need root (VDUSE, vdpa netlink, units),
// and say so before doing anything. list, show and check do not.
constexpr std::array root_verbs = {"add",     "del",       "resize",  "bind",
                                   "detach",  "recover",   "restart", "restore",
                                   "persist", "unpersist", "gc"};

struct GlobalOptions {
	std::string state_dir;
	bool verbose = false;
	bool no_systemd = false;
};

int parse_and_run(int argc, char **argv)
{
	CLI::App app{"vdusectl - create, list and remove VDUSE block devices"};
	app.set_version_flag("--version", VDUSE_VERSION);
	GlobalOptions global;
	app.add_option("--state-dir", global.state_dir,
	               "State directory (default: $VDUSE_STATE_DIR or " VDUSE_STATE_DIR ")")
	        ->type_name("DIR");
	app.add_flag("-v,--verbose", global.verbose, "Log more, and start vdused with --verbose");
	app.add_flag("--no-systemd", global.no_systemd,
	             "Spawn vdused directly even when systemd runs (also: $VDUSE_NO_SYSTEMD=1)");
	// Global options are accepted after the verb too (the verbs inherit this).
	app.fallthrough();
	app.require_subcommand(0, 1);

	std::vector<std::pair<CLI::App *, VerbHandler>> verbs;
	for (auto make : verb_table) {
		Verb verb = make();
		CLI::App *command = app.add_subcommand(verb.name, verb.summary);
		verbs.emplace_back(command, verb.declare(*command));
	}
	// An empty value means nothing to any option or argument that takes text
	// (--state-dir '' silently meant the default, -s '' "needs --size").
	refuse_empty_values(app);
	for (auto &verb : verbs)
		refuse_empty_values(*verb.first);
	// Set after the verbs, so that only the top level collects what no verb
	// took: an unknown verb, or an argument the verb does not have.
	app.allow_extras();

	// -j=MODE as --json=MODE: CLI11 reads "-j=short" as an unknown option
	// "-=short" (a short option takes no "=").
	std::vector<std::string> args;
	for (int i = argc - 1; i > 0; --i) {
		std::string arg = argv[i];
		args.push_back(arg.rfind("-j=", 0) == 0 ? "--json=" + arg.substr(3) : arg);
	}
	try {
		app.parse(args); // CLI11 takes them last first
	} catch (const CLI::CallForHelp &e) {
		return app.exit(e);
	} catch (const CLI::CallForAllHelp &e) {
		return app.exit(e);
	} catch (const CLI::CallForVersion &e) {
		return app.exit(e);
	} catch (const CLI::ParseError &e) {
		// The verb being parsed, if any, names the help to see.
		const CLI::App *where = &app;
		for (const CLI::App *command : app.get_subcommands())
			where = command;
		std::string verb = where == &app ? "" : where->get_name();
		return report(usage_error((verb.empty() ? "" : verb + ": ") +
		                          parse_error_text(*where, e) + " (see vdusectl" +
		                          (verb.empty() ? "" : " " + verb) + " --help)"));
	}
	auto chosen = std::find_if(verbs.begin(), verbs.end(),
	                           [](const auto &verb) { return verb.first->parsed(); });
	std::vector<std::string> extras = app.remaining();
	if (chosen == verbs.end()) {
		if (!extras.empty())
			return report(usage_error("unknown verb '" + extras.front() +
			                          "' (see vdusectl --help)"));
		return report(usage_error("no verb given (see vdusectl --help)"));
	}
	if (!extras.empty()) {
		const std::string &extra = extras.front();
		bool option = extra.size() > 1 && extra[0] == '-';
		return report(usage_error(chosen->first->get_name() + ": " +
		                          (option ? "unknown option '" : "unexpected argument '") +
		                          extra + "' (see vdusectl " + chosen->first->get_name() +
		                          " --help)"));
	}

	const std::string &verb = chosen->first->get_name();
	if (::geteuid() != 0 &&
	    std::find(root_verbs.begin(), root_verbs.end(), verb) != root_verbs.end())
		return report(failure(verb + ": must be root"));

	// Messages go to stderr: stdout carries the result (the node, JSON).
	spdlog::set_default_logger(spdlog::stderr_logger_mt("vdusectl"));
	spdlog::set_pattern("vdusectl: %v");
	spdlog::set_level(global.verbose ? spdlog::level::debug : spdlog::level::warn);
	Context ctx;
	if (!global.state_dir.empty())
		ctx.state = StateDir(global.state_dir);
	ctx.verbose = global.verbose;
	ctx.use_systemd = !global.no_systemd && SystemdManager::available();
	return chosen->second(ctx);
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
