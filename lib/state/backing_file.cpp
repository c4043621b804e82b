#include "state/backing_file.h"

#include "state/direct_io.h"

#include <cstring>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace vduse
{

namespace
{

Status read_block_geometry(BackingFile &file, const std::string &path)
{
	uint64_t size = 0;
	int logical = 0;
	unsigned physical = 0;
	int ro = 0;
	if (::ioctl(file.fd.get(), BLKGETSIZE64, &size) < 0 ||
	    ::ioctl(file.fd.get(), BLKSSZGET, &logical) < 0 ||
	    ::ioctl(file.fd.get(), BLKPBSZGET, &physical) < 0 ||
	    ::ioctl(file.fd.get(), BLKROGET, &ro) < 0)
		return errno_error("cannot read the geometry of " + path);
	file.size = size;
	file.logical_block_size = static_cast<uint32_t>(logical);
	file.physical_block_size = physical;
	file.read_only = ro != 0;
	return {};
}

} // namespace

Result<BackingFile> open_backing_file(const DeviceSpec &spec)
{
	const std::string &path = spec.file;
	struct stat st {
	};
	if (::stat(path.c_str(), &st) < 0)
		return errno_error(spec.name + ": backing file " + path);
	BackingFile file;
	file.block_device = S_ISBLK(st.st_mode);
	if (S_ISDIR(st.st_mode))
		return Error{EISDIR, spec.name + ": backing file " + path + " is a directory"};
	if (!file.block_device && !S_ISREG(st.st_mode))
		return failure(spec.name + ": backing file " + path +
		               " is neither a regular file nor a block device");

	int flags = O_CLOEXEC | (spec.read_only ? O_RDONLY : O_RDWR);
	if (spec.direct || spec.backend == "loop")
		flags |= O_DIRECT;
	// O_EXCL on a block device claims it: EBUSY if mounted or claimed by another.
	if (file.block_device)
		flags |= O_EXCL;
	file.fd.reset(::open(path.c_str(), flags));
	if (!file.fd) {
		int err = errno;
		std::string what = spec.name + ": cannot open " + path;
		if (err == EBUSY)
			return Error{EBUSY, what + ": the block device is in use (mounted or "
			                           "claimed by another)"};
		if ((err == EACCES || err == EROFS || err == EPERM) && !spec.read_only)
			return Error{err, what + " for writing: " + std::strerror(err) +
			                          " (use --read-only)"};
		return system_error(err, what);
	}
	if (file.block_device) {
		if (auto s = read_block_geometry(file, path); !s)
			return s.error();
	} else {
		file.size = static_cast<uint64_t>(st.st_size);
	}
	// Without the kernel's answer, a block device needs its logical block
	// size; a page is safe for any file (stricter only means more bouncing).
	if (flags & O_DIRECT)
		file.direct_alignment = direct_io_alignment(
		        file.fd.get(), file.block_device ? file.logical_block_size : 4096);
	return file;
}

Result<uint64_t> backing_size(const std::string &path, bool &block_device)
{
	struct stat st {
	};
	if (::stat(path.c_str(), &st) < 0)
		return errno_error("backing file " + path);
	block_device = S_ISBLK(st.st_mode);
	if (!block_device)
		return static_cast<uint64_t>(st.st_size);
	UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
	uint64_t size = 0;
	if (!fd || ::ioctl(fd.get(), BLKGETSIZE64, &size) < 0)
		return errno_error("cannot read the size of " + path);
	return size;
}

bool zeroes_in_place(const std::string &path)
{
	UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
	struct stat st {
	};
	if (!fd || ::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode))
		return true;
	// One block past the end, rounded up: nothing there to lose. A file
	// system without fallocate answers EOPNOTSUPP before looking at the range
	// (fs/open.c, vfs_fallocate).
	constexpr off_t probe = 4096;
	off_t past_end = (st.st_size + 2 * probe - 1) / probe * probe;
	return ::fallocate(fd.get(), FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, past_end, probe) ==
	               0 ||
	       errno != EOPNOTSUPP;
}

Status create_sparse_file(const std::string &path, uint64_t size)
{
	UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
	if (!fd)
		return errno_error("cannot create " + path);
	if (::ftruncate(fd.get(), static_cast<off_t>(size)) < 0) {
		int err = errno;
		::unlink(path.c_str());
		return system_error(err, "cannot size " + path);
	}
	return {};
}

} // namespace vduse
