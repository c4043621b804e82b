// short-io-fuse: a FUSE file system for the guest scenarios that serves one
// file, MOUNTPOINT/disk, held in memory, whose reads and writes move at most
// CHUNK bytes each: a short transfer, legal for read(2) and write(2) and
// common on network and FUSE file systems. Opened with direct_io, so that
// the kernel hands each short count to the caller as it is. A read or write
// that covers byte FAIL_OFFSET (if given) fails with EIO. With --reads-only,
// writes move everything: the kernel itself fails an asynchronous O_DIRECT
// write that a FUSE server answers short (fs/fuse/file.c, fuse_get_res_by_io).
//
// Usage: short-io-fuse [--reads-only] MOUNTPOINT SIZE CHUNK [FAIL_OFFSET]
// (stays in the foreground; umount the mount point to stop it)
#define FUSE_USE_VERSION 31
#include <fuse.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace
{

constexpr std::string_view file_path = "/disk";

struct Disk {
	std::vector<uint8_t> bytes;
	size_t chunk = 0;       // at most this much per read
	size_t write_chunk = 0; // and per write
	std::optional<uint64_t> fail_offset;
	std::mutex mutex;

	// Bytes to move for a request of size at off; -EIO if it covers the
	// failing byte.
	long long allowed(size_t size, off_t off, size_t most) const
	{
		auto start = static_cast<uint64_t>(off);
		if (fail_offset && *fail_offset >= start && *fail_offset < start + size)
			return -EIO;
		if (start >= bytes.size())
			return 0;
		return static_cast<long long>(std::min({size, most, bytes.size() - start}));
	}
};

Disk &disk()
{
	return *static_cast<Disk *>(fuse_get_context()->private_data);
}

int do_getattr(const char *path, struct stat *st, fuse_file_info * /*fi*/)
{
	*st = {};
	if (std::string_view(path) == "/") {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else if (file_path == path) {
		st->st_mode = S_IFREG | 0644;
		st->st_nlink = 1;
		st->st_size = static_cast<off_t>(disk().bytes.size());
		st->st_blksize = 4096;
	} else {
		return -ENOENT;
	}
	return 0;
}

int do_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t /*off*/,
               fuse_file_info * /*fi*/, fuse_readdir_flags /*flags*/)
{
	if (std::string_view(path) != "/")
		return -ENOENT;
	fill(buf, ".", nullptr, 0, FUSE_FILL_DIR_PLUS);
	fill(buf, "..", nullptr, 0, FUSE_FILL_DIR_PLUS);
	fill(buf, file_path.substr(1).data(), nullptr, 0, FUSE_FILL_DIR_PLUS);
	return 0;
}

int do_open(const char *path, fuse_file_info *fi)
{
	if (file_path != path)
		return -ENOENT;
	fi->direct_io = 1; // short counts reach the caller (fs/fuse/file.c, fuse_direct_io)
	return 0;
}

int do_read(const char *path, char *buf, size_t size, off_t off, fuse_file_info * /*fi*/)
{
	if (file_path != path)
		return -ENOENT;
	Disk &d = disk();
	std::lock_guard lock(d.mutex);
	long long n = d.allowed(size, off, d.chunk);
	if (n > 0)
		std::memcpy(buf, d.bytes.data() + off, static_cast<size_t>(n));
	return static_cast<int>(n);
}

int do_write(const char *path, const char *buf, size_t size, off_t off, fuse_file_info * /*fi*/)
{
	if (file_path != path)
		return -ENOENT;
	Disk &d = disk();
	std::lock_guard lock(d.mutex);
	if (static_cast<uint64_t>(off) >= d.bytes.size())
		return -ENOSPC;
	long long n = d.allowed(size, off, d.write_chunk);
	if (n > 0)
		std::memcpy(d.bytes.data() + off, buf, static_cast<size_t>(n));
	return static_cast<int>(n);
}

int do_truncate(const char *path, off_t size, fuse_file_info * /*fi*/)
{
	if (file_path != path)
		return -ENOENT;
	return static_cast<uint64_t>(size) == disk().bytes.size() ? 0 : -EPERM;
}

int do_fsync(const char * /*path*/, int /*datasync*/, fuse_file_info * /*fi*/)
{
	return 0;
}

std::optional<uint64_t> number(const char *text)
{
	uint64_t value = 0;
	std::string_view s(text);
	auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
	if (ec != std::errc() || end != s.data() + s.size())
		return std::nullopt;
	return value;
}

} // namespace

int main(int argc, char **argv)
{
	bool reads_only = argc > 1 && std::string_view(argv[1]) == "--reads-only";
	if (reads_only) {
		--argc;
		++argv;
	}
	if (argc < 4 || argc > 5) {
		std::fprintf(stderr, "usage: short-io-fuse [--reads-only] MOUNTPOINT SIZE CHUNK "
		                     "[FAIL_OFFSET]\n");
		return 2;
	}
	auto size = number(argv[2]);
	auto chunk = number(argv[3]);
	std::optional<uint64_t> fail;
	if (argc == 5 && !(fail = number(argv[4]))) {
		std::fprintf(stderr, "short-io-fuse: FAIL_OFFSET '%s' is not a number\n", argv[4]);
		return 2;
	}
	if (!size || !chunk || *chunk == 0) {
		std::fprintf(stderr, "short-io-fuse: SIZE and CHUNK must be positive numbers\n");
		return 2;
	}
	Disk d;
	d.bytes.assign(*size, 0);
	d.chunk = *chunk;
	d.write_chunk = reads_only ? *size : *chunk;
	d.fail_offset = fail;

	fuse_operations ops{};
	ops.getattr = do_getattr;
	ops.readdir = do_readdir;
	ops.open = do_open;
	ops.read = do_read;
	ops.write = do_write;
	ops.truncate = do_truncate;
	ops.fsync = do_fsync;
	std::string prog = argv[0], mountpoint = argv[1], fg = "-f", opt = "-o",
	            opts = "default_permissions";
	std::vector<char *> args{prog.data(), mountpoint.data(), fg.data(), opt.data(),
	                         opts.data()};
	return fuse_main(static_cast<int>(args.size()), args.data(), &ops, &d);
}
