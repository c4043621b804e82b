#include "unit_dropin.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

namespace fs = std::filesystem;

namespace vduse
{

namespace
{

// A path as one word of a unit file setting: quoted, with the specifier
// character and the quote escaped (systemd.syntax(7)).
std::string unit_word(const std::string &path)
{
	std::string out = "\"";
	for (char c : path) {
		if (c == '%')
			out += "%%";
		else if (c == '"' || c == '\\')
			out += std::string("\\") + c;
		else
			out += c;
	}
	return out + "\"";
}

bool under_home(const std::string &path)
{
	for (const char *dir : {"/home/", "/root/", "/run/user/"})
		if (path.rfind(dir, 0) == 0)
			return true;
	return false;
}

// PATH with control characters shown as \xNN, for an error message.
std::string printable(const std::string &path)
{
	std::string out;
	for (char c : path) {
		auto byte = static_cast<unsigned char>(c);
		if (byte < 0x20 || byte == 0x7f) {
			constexpr const char *hex = "0123456789abcdef";
			out += "\\x";
			out += hex[byte >> 4];
			out += hex[byte & 15];
		} else {
			out += c;
		}
	}
	return out;
}

// What a network backend needs beyond the hardened template: sockets of
// the families its server is reached by, the network namespace for IP, and
// the paths it reads (a unix socket, the Ceph configuration and keyring) if
// the template hides them. Nothing else is lifted.
void network_access(const DeviceSpec &spec, std::ostream &unit, std::ostream &service)
{
	if (!is_remote_backend(spec))
		return;
	std::vector<std::string> paths;
	bool ip = true;
	std::string families = "AF_UNIX AF_INET AF_INET6";
	if (spec.backend == "nbd") {
		bool over_unix = spec.url.find("+unix://") != std::string::npos;
		bool over_vsock = spec.url.find("+vsock://") != std::string::npos;
		ip = !over_unix && !over_vsock;
		if (over_vsock)
			families = "AF_UNIX AF_VSOCK";
		if (over_unix) {
			families = "AF_UNIX";
			auto at = spec.url.find("socket=");
			if (at != std::string::npos)
				paths.push_back(
				        spec.url.substr(at + 7, spec.url.find('&', at) - at - 7));
		}
	} else if (spec.backend == "vhost-user") {
		ip = false;
		families = "AF_UNIX";
		paths = {spec.socket};
	} else {
		paths = {spec.ceph_conf, spec.keyring};
	}
	if (ip) {
		unit << "After=network-online.target\nWants=network-online.target\n";
		service << "PrivateNetwork=no\nIPAddressDeny=\n";
	}
	service << "RestrictAddressFamilies=" << families << '\n';
	for (const std::string &path : paths) {
		if (path.rfind("/tmp/", 0) == 0 || path.rfind("/var/tmp/", 0) == 0)
			service << "PrivateTmp=no\n";
		else if (under_home(path))
			service << "ProtectHome=read-only\n";
	}
}

} // namespace

std::string filesystem_ordering(const DeviceSpec &spec)
{
	return is_network_backend(spec) ? "Before=remote-fs-pre.target\n"
	                                : "Before=local-fs-pre.target lvm2-monitor.service\n";
}

std::string detach_dropin_text(const DeviceSpec &spec)
{
	// vduse-detach@NAME stops before vdused@NAME (it is ordered after it)
	// and, like it, after the file systems on the device.
	return "# Written by vdusectl add for device " + spec.name +
	       "; removed by vdusectl del.\n[Unit]\n" + filesystem_ordering(spec);
}

Result<std::string> unit_dropin_text(const DeviceSpec &spec, const DropinInputs &in)
{
	// A newline would end the setting and start another of the caller's
	// choosing: refuse every control character rather than escape it.
	for (const std::string &path : {spec.file, in.vdused, in.state_dir.string(), spec.url,
	                                spec.ceph_conf, spec.keyring, spec.socket}) {
		if (has_control_character(path))
			return usage_error(spec.name + ": path '" + printable(path) +
			                   "' has a control character; a unit file cannot hold it");
	}
	std::ostringstream body;
	if (in.state_dir != in.default_state_dir) {
		body << "Environment=VDUSE_STATE_DIR=" << unit_word(in.state_dir.string()) << '\n';
		body << "ReadWritePaths=" << unit_word(in.state_dir.string()) << '\n';
	}
	if (in.vdused != in.installed_vdused || in.verbose) {
		body << "ExecStart=\nExecStart=" << unit_word(in.vdused) << " %i"
		     << (in.verbose ? " --verbose" : "") << '\n';
	}
	if (!spec.file.empty()) {
		if (under_home(spec.file))
			body << "ProtectHome=no\n";
		std::error_code ec;
		if (fs::is_block_file(spec.file, ec))
			body << "DeviceAllow=" << unit_word(spec.file)
			     << (spec.read_only ? " r" : " rw") << '\n';
		else if (!spec.read_only)
			body << "ReadWritePaths=" << unit_word(spec.file) << '\n';
	}
	// The pages the kernel and io_uring pin count against it
	// (vdused cannot raise it: the template's system call filter).
	if (spec.bounce_memory != "default")
		body << "LimitMEMLOCK=infinity\n";
	std::ostringstream unit;
	// File systems on the device are mounted after, and unmounted at
	// shutdown before, the daemon that serves them stops: local mounts are
	// ordered after local-fs-pre.target, remote ones (_netdev) after
	// remote-fs-pre.target. A network backend cannot come before the local
	// file systems (it waits for the network, which waits for them), so
	// the template cannot say this for every device. lvm2-monitor.service
	// reads every block device when it stops at shutdown: stopping before
	// the daemon, it finds the device still served (it waited its 3 min
	// timeout in the guest otherwise).
	unit << filesystem_ordering(spec);
	network_access(spec, unit, body);
	std::string text = body.str();
	return "# Written by vdusectl add for device " + spec.name +
	       "; removed by vdusectl del.\n[Unit]\n" + unit.str() +
	       (text.empty() ? "" : "[Service]\n" + text);
}

fs::path runtime_unit_dir()
{
	return "/run/systemd/system";
}

fs::path unit_dropin_path(const std::string &device, std::string_view unit)
{
	return runtime_unit_dir() / (std::string(unit) + "@" + device + ".service.d") /
	       "50-vdusectl.conf";
}

Status install_unit_dropin(const std::string &device, const std::string &text, bool &changed,
                           std::string_view unit)
{
	fs::path path = unit_dropin_path(device, unit);
	std::error_code ec;
	std::string old;
	if (std::ifstream in(path); in) {
		std::ostringstream ss;
		ss << in.rdbuf();
		old = ss.str();
	}
	changed = old != text;
	if (!changed)
		return {};
	if (text.empty()) {
		fs::remove(path, ec);
		fs::remove(path.parent_path(), ec);
		return {};
	}
	fs::create_directories(path.parent_path(), ec);
	if (ec)
		return system_error(ec.value(), "cannot create " + path.parent_path().string());
	std::ofstream out(path, std::ios::trunc);
	out << text;
	out.flush();
	if (!out)
		return errno_error("cannot write " + path.string());
	return {};
}

void remove_unit_dropins(const std::string &device, bool &changed)
{
	bool detach_changed = false;
	(void)install_unit_dropin(device, "", changed);
	(void)install_unit_dropin(device, "", detach_changed, "vduse-detach");
	changed = changed || detach_changed;
}

} // namespace vduse
