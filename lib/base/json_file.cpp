#include "base/json_file.h"

#include "base/unique_fd.h"

#include <algorithm>
#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace vduse
{

namespace
{

// A record is a few hundred bytes; anything this large is not one.
constexpr off_t json_file_max = 1 << 20;

std::string file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device node";
	return "not a regular file";
}

} // namespace

Result<nlohmann::json> read_json_file(const fs::path &path)
{
	// O_NONBLOCK: a FIFO in a record's place must not hang the reader.
	UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
	if (!fd) {
		int err = errno;
		struct stat link {
		};
		if (err == ENOENT && ::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode))
			return Error{ELOOP, path.string() + " is a dangling symbolic link"};
		return system_error(err, "cannot read " + path.string());
	}
	struct stat st {
	};
	if (::fstat(fd.get(), &st) < 0)
		return errno_error("cannot read " + path.string());
	if (!S_ISREG(st.st_mode))
		return failure(path.string() + " is " + file_kind(st.st_mode) +
		               ", not a JSON file");
	if (st.st_size > json_file_max)
		return failure(path.string() + " is too large (" + std::to_string(st.st_size) +
		               " bytes) to be a JSON record");
	std::string text(static_cast<size_t>(st.st_size), '\0');
	size_t got = 0;
	while (got < text.size()) {
		ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno_error("cannot read " + path.string());
		if (n == 0)
			break;
		got += static_cast<size_t>(n);
	}
	text.resize(got);
	if (text.find_first_not_of(" \t\r\n") == std::string::npos)
		return failure(path.string() + " is empty");
	nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
	if (json.is_discarded())
		return failure(path.string() + " is not valid JSON (truncated?)");
	return json;
}

Status write_json_file(const fs::path &path, const nlohmann::json &json)
{
	return write_file_atomically(path, json.dump(2) + '\n');
}

Status write_file_atomically(const fs::path &path, const std::string &text)
{
	fs::path tmp = path;
	tmp += ".tmp";
	{
		std::ofstream out(tmp, std::ios::trunc);
		out << text;
		out.flush();
		if (!out)
			return errno_error("cannot write " + tmp.string());
	}
	// A file written again keeps its mode: vdused (UMask=0077 under
	// systemd) rewrites records that vdusectl wrote readable by all.
	struct stat old {
	};
	if (::stat(path.c_str(), &old) == 0)
		(void)::chmod(tmp.c_str(), old.st_mode & 07777);
	std::error_code ec;
	fs::rename(tmp, path, ec);
	if (ec) {
		fs::remove(tmp, ec);
		return system_error(ec.value(), "cannot rename " + tmp.string());
	}
	return {};
}

std::vector<std::string> json_file_stems(const fs::path &dir)
{
	std::vector<std::string> result;
	std::error_code ec;
	for (const auto &entry : fs::directory_iterator(dir, ec)) {
		if (entry.path().extension() == ".json")
			result.push_back(entry.path().stem().string());
	}
	std::sort(result.begin(), result.end());
	return result;
}

} // namespace vduse
