#include "systemd/systemd_manager.h"

#include <cstdlib>
#include <map>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <unistd.h>
#include <vector>

namespace vduse
{

namespace
{

constexpr const char *service = "org.freedesktop.systemd1";
constexpr const char *manager_path = "/org/freedesktop/systemd1";
constexpr const char *manager_iface = "org.freedesktop.systemd1.Manager";

// Owns what sd-bus hands out (messages, errors) for the length of one call.
struct Reply {
	sd_bus_message *msg = nullptr;
	sd_bus_error error{}; // SD_BUS_ERROR_NULL, which is C (a compound literal)
	Reply() = default;
	Reply(const Reply &) = delete;
	Reply &operator=(const Reply &) = delete;
	~Reply()
	{
		sd_bus_message_unref(msg);
		sd_bus_error_free(&error);
	}
	Error fail(int r, const std::string &what) const
	{
		std::string why = error.message ? error.message : std::string();
		if (why.empty())
			return system_error(-r, what);
		return Error{-r, what + ": " + why};
	}
};

// JobRemoved results of the jobs seen so far, by job object path.
using JobResults = std::map<std::string, std::string>;

int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error * /*error*/)
{
	uint32_t id = 0;
	const char *path = nullptr;
	const char *unit = nullptr;
	const char *result = nullptr;
	if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) >= 0)
		(*static_cast<JobResults *>(userdata))[path] = result;
	return 0;
}

} // namespace

void SystemdManager::BusDeleter::operator()(sd_bus *bus) const
{
	sd_bus_flush_close_unref(bus);
}

bool SystemdManager::available()
{
	const char *off = std::getenv("VDUSE_NO_SYSTEMD");
	if (off && *off && std::string(off) != "0")
		return false;
	return sd_booted() > 0;
}

Result<SystemdManager> SystemdManager::connect()
{
	sd_bus *bus = nullptr;
	int r = 0;
	if (::geteuid() == 0 && ::access("/run/systemd/private", F_OK) == 0) {
		r = sd_bus_new(&bus);
		if (r >= 0)
			r = sd_bus_set_address(bus, "unix:path=/run/systemd/private");
		if (r >= 0)
			r = sd_bus_start(bus);
		if (r < 0) {
			sd_bus_unref(bus);
			bus = nullptr;
		}
	}
	if (!bus)
		r = sd_bus_open_system(&bus);
	if (r < 0)
		return system_error(-r, "cannot connect to the systemd manager");
	return SystemdManager(bus);
}

Status SystemdManager::run_job(const char *method, const char *verb, const std::string &unit,
                               std::chrono::milliseconds timeout)
{
	JobResults results;
	sd_bus_slot *slot = nullptr;
	int r = sd_bus_match_signal(bus_.get(), &slot, service, manager_path, manager_iface,
	                            "JobRemoved", on_job_removed, &results);
	if (r < 0)
		return system_error(-r, "cannot watch systemd jobs");
	std::unique_ptr<sd_bus_slot, decltype(&sd_bus_slot_unref)> slot_owner(slot,
	                                                                      sd_bus_slot_unref);
	{
		// Without a subscriber the manager sends no job signals.
		Reply sub;
		r = sd_bus_call_method(bus_.get(), service, manager_path, manager_iface,
		                       "Subscribe", &sub.error, &sub.msg, "");
		if (r < 0 && !sd_bus_error_has_name(&sub.error,
		                                    "org.freedesktop.systemd1.AlreadySubscribed"))
			return sub.fail(r, "cannot subscribe to systemd jobs");
	}
	Reply call;
	r = sd_bus_call_method(bus_.get(), service, manager_path, manager_iface, method,
	                       &call.error, &call.msg, "ss", unit.c_str(), "replace");
	if (r < 0)
		return call.fail(r, std::string("cannot ") + verb + " " + unit);
	const char *job = nullptr;
	r = sd_bus_message_read(call.msg, "o", &job);
	if (r < 0)
		return system_error(-r, "cannot read the job of " + unit);
	std::string job_path = job;
	auto deadline = std::chrono::steady_clock::now() + timeout;
	for (;;) {
		auto it = results.find(job_path);
		if (it != results.end()) {
			if (it->second == "done")
				return {};
			return Error{EIO, unit + ": job " + it->second};
		}
		r = sd_bus_process(bus_.get(), nullptr);
		if (r < 0)
			return system_error(-r, "lost the connection to systemd");
		if (r > 0)
			continue;
		auto left = std::chrono::duration_cast<std::chrono::microseconds>(
		        deadline - std::chrono::steady_clock::now());
		if (left.count() <= 0)
			return Error{ETIMEDOUT, unit + ": job did not finish within " +
			                                std::to_string(timeout.count() / 1000) +
			                                " s"};
		r = sd_bus_wait(bus_.get(), static_cast<uint64_t>(left.count()));
		if (r < 0)
			return system_error(-r, "lost the connection to systemd");
	}
}

Status SystemdManager::start_unit(const std::string &unit, std::chrono::milliseconds timeout)
{
	return run_job("StartUnit", "start", unit, timeout);
}

Status SystemdManager::stop_unit(const std::string &unit, std::chrono::milliseconds timeout)
{
	return run_job("StopUnit", "stop", unit, timeout);
}

Status SystemdManager::reload()
{
	Reply call;
	int r = sd_bus_call_method(bus_.get(), service, manager_path, manager_iface, "Reload",
	                           &call.error, &call.msg, "");
	if (r < 0)
		return call.fail(r, "cannot reload the systemd manager");
	return {};
}

void SystemdManager::reset_failed(const std::string &unit)
{
	Reply call;
	(void)sd_bus_call_method(bus_.get(), service, manager_path, manager_iface,
	                         "ResetFailedUnit", &call.error, &call.msg, "s", unit.c_str());
}

Result<UnitState> SystemdManager::unit_state(const std::string &unit)
{
	Reply load;
	int r = sd_bus_call_method(bus_.get(), service, manager_path, manager_iface, "LoadUnit",
	                           &load.error, &load.msg, "s", unit.c_str());
	if (r < 0)
		return load.fail(r, "cannot look up " + unit);
	const char *path = nullptr;
	if ((r = sd_bus_message_read(load.msg, "o", &path)) < 0)
		return system_error(-r, "cannot look up " + unit);
	UnitState state;
	auto get_string = [&](const char *iface, const char *prop, std::string &out) {
		char *value = nullptr;
		sd_bus_error error{}; // SD_BUS_ERROR_NULL, which is C (a compound literal)
		if (sd_bus_get_property_string(bus_.get(), service, path, iface, prop, &error,
		                               &value) >= 0) {
			// sd-bus hands out malloc'd strings.
			std::unique_ptr<char, decltype(&free)> owner(value, free);
			out = owner.get();
		}
		sd_bus_error_free(&error);
	};
	auto get_u32 = [&](const char *iface, const char *prop, uint32_t &out) {
		sd_bus_error error{}; // SD_BUS_ERROR_NULL, which is C (a compound literal)
		(void)sd_bus_get_property_trivial(bus_.get(), service, path, iface, prop, &error,
		                                  'u', &out);
		sd_bus_error_free(&error);
	};
	const char *unit_iface = "org.freedesktop.systemd1.Unit";
	const char *service_iface = "org.freedesktop.systemd1.Service";
	get_string(unit_iface, "ActiveState", state.active_state);
	get_string(unit_iface, "SubState", state.sub_state);
	get_string(service_iface, "StatusText", state.status_text);
	uint32_t pid = 0;
	get_u32(service_iface, "MainPID", pid);
	state.main_pid = static_cast<pid_t>(pid);
	get_u32(service_iface, "NRestarts", state.restarts);
	return state;
}

Result<std::string> SystemdManager::system_state()
{
	char *value = nullptr;
	sd_bus_error error{}; // SD_BUS_ERROR_NULL, which is C (a compound literal)
	int r = sd_bus_get_property_string(bus_.get(), service, manager_path, manager_iface,
	                                   "SystemState", &error, &value);
	sd_bus_error_free(&error);
	if (r < 0)
		return system_error(-r, "cannot read systemd's state");
	// sd-bus hands out malloc'd strings.
	std::unique_ptr<char, decltype(&free)> owner(value, free);
	return std::string(owner.get());
}

std::string worker_unit_name(const std::string &device)
{
	// Device names hold only characters valid in unit names (validate_name).
	return "vdused@" + device + ".service";
}

std::string unit_journal_tail(const std::string &unit, unsigned lines)
{
	sd_journal *journal = nullptr;
	if (sd_journal_open(&journal, SD_JOURNAL_LOCAL_ONLY) < 0)
		return {};
	std::unique_ptr<sd_journal, decltype(&sd_journal_close)> owner(journal, sd_journal_close);
	std::string match = "_SYSTEMD_UNIT=" + unit;
	std::string match_obj = "UNIT=" + unit; // systemd's own messages about the unit
	sd_journal_add_match(journal, match.c_str(), 0);
	sd_journal_add_disjunction(journal);
	sd_journal_add_match(journal, match_obj.c_str(), 0);
	if (sd_journal_seek_tail(journal) < 0)
		return {};
	std::vector<std::string> found;
	while (found.size() < lines && sd_journal_previous(journal) > 0) {
		const void *data = nullptr;
		size_t len = 0;
		if (sd_journal_get_data(journal, "MESSAGE", &data, &len) >= 0) {
			std::string field(static_cast<const char *>(data), len);
			found.push_back(field.substr(field.find('=') + 1));
		}
	}
	std::string text;
	for (auto it = found.rbegin(); it != found.rend(); ++it)
		text += (text.empty() ? "" : "\n") + *it;
	return text;
}

} // namespace vduse
