// librados' and librbd's functions as vdusectl and vdused call them, each
// opening into librbd.so.1 and the librados.so.2 it brings
// (lazy_library.h). Each matches its declaration in <rados/librados.h> or
// <rbd/librbd.h>, which the compiler checks.
#include "remote/lazy_library.h"

#include <rados/librados.h>
#include <rbd/librbd.h>

// fn: NAME in librbd or librados, looked up at its first call.
#define RBD_FUNCTION(name)                                                                         \
	static const auto fn = vduse::required_remote_function<decltype(&::name)>(                 \
	        vduse::RemoteLibrary::rbd, #name)

extern "C" {

int rados_conf_parse_env(rados_t cluster, const char *var)
{
	RBD_FUNCTION(rados_conf_parse_env);
	return fn(cluster, var);
}

int rados_conf_read_file(rados_t cluster, const char *path)
{
	RBD_FUNCTION(rados_conf_read_file);
	return fn(cluster, path);
}

int rados_conf_set(rados_t cluster, const char *option, const char *value)
{
	RBD_FUNCTION(rados_conf_set);
	return fn(cluster, option, value);
}

int rados_connect(rados_t cluster)
{
	RBD_FUNCTION(rados_connect);
	return fn(cluster);
}

int rados_create2(rados_t *pcluster, const char *const clustername, const char *const name,
                  uint64_t flags)
{
	RBD_FUNCTION(rados_create2);
	return fn(pcluster, clustername, name, flags);
}

int rados_ioctx_create(rados_t cluster, const char *pool_name, rados_ioctx_t *ioctx)
{
	RBD_FUNCTION(rados_ioctx_create);
	return fn(cluster, pool_name, ioctx);
}

void rados_ioctx_destroy(rados_ioctx_t io)
{
	RBD_FUNCTION(rados_ioctx_destroy);
	return fn(io);
}

void rados_ioctx_set_namespace(rados_ioctx_t io, const char *nspace)
{
	RBD_FUNCTION(rados_ioctx_set_namespace);
	return fn(io, nspace);
}

void rados_shutdown(rados_t cluster)
{
	RBD_FUNCTION(rados_shutdown);
	return fn(cluster);
}

int rbd_aio_create_completion(void *cb_arg, rbd_callback_t complete_cb, rbd_completion_t *c)
{
	RBD_FUNCTION(rbd_aio_create_completion);
	return fn(cb_arg, complete_cb, c);
}

int rbd_aio_discard(rbd_image_t image, uint64_t off, uint64_t len, rbd_completion_t c)
{
	RBD_FUNCTION(rbd_aio_discard);
	return fn(image, off, len, c);
}

int rbd_aio_flush(rbd_image_t image, rbd_completion_t c)
{
	RBD_FUNCTION(rbd_aio_flush);
	return fn(image, c);
}

ssize_t rbd_aio_get_return_value(rbd_completion_t c)
{
	RBD_FUNCTION(rbd_aio_get_return_value);
	return fn(c);
}

int rbd_aio_readv(rbd_image_t image, const struct iovec *iov, int iovcnt, uint64_t off,
                  rbd_completion_t c)
{
	RBD_FUNCTION(rbd_aio_readv);
	return fn(image, iov, iovcnt, off, c);
}

void rbd_aio_release(rbd_completion_t c)
{
	RBD_FUNCTION(rbd_aio_release);
	return fn(c);
}

int rbd_aio_write_zeroes(rbd_image_t image, uint64_t off, size_t len, rbd_completion_t c,
                         int zero_flags, int op_flags)
{
	RBD_FUNCTION(rbd_aio_write_zeroes);
	return fn(image, off, len, c, zero_flags, op_flags);
}

int rbd_aio_writev(rbd_image_t image, const struct iovec *iov, int iovcnt, uint64_t off,
                   rbd_completion_t c)
{
	RBD_FUNCTION(rbd_aio_writev);
	return fn(image, iov, iovcnt, off, c);
}

int rbd_close(rbd_image_t image)
{
	RBD_FUNCTION(rbd_close);
	return fn(image);
}

int rbd_get_features(rbd_image_t image, uint64_t *features)
{
	RBD_FUNCTION(rbd_get_features);
	return fn(image, features);
}

int rbd_get_size(rbd_image_t image, uint64_t *size)
{
	RBD_FUNCTION(rbd_get_size);
	return fn(image, size);
}

int rbd_lock_acquire(rbd_image_t image, rbd_lock_mode_t lock_mode)
{
	RBD_FUNCTION(rbd_lock_acquire);
	return fn(image, lock_mode);
}

int rbd_lock_break(rbd_image_t image, rbd_lock_mode_t lock_mode, const char *lock_owner)
{
	RBD_FUNCTION(rbd_lock_break);
	return fn(image, lock_mode, lock_owner);
}

int rbd_lock_get_owners(rbd_image_t image, rbd_lock_mode_t *lock_mode, char **lock_owners,
                        size_t *max_lock_owners)
{
	RBD_FUNCTION(rbd_lock_get_owners);
	return fn(image, lock_mode, lock_owners, max_lock_owners);
}

void rbd_lock_get_owners_cleanup(char **lock_owners, size_t lock_owner_count)
{
	RBD_FUNCTION(rbd_lock_get_owners_cleanup);
	return fn(lock_owners, lock_owner_count);
}

int rbd_open(rados_ioctx_t io, const char *name, rbd_image_t *image, const char *snap_name)
{
	RBD_FUNCTION(rbd_open);
	return fn(io, name, image, snap_name);
}

int rbd_open_read_only(rados_ioctx_t io, const char *name, rbd_image_t *image,
                       const char *snap_name)
{
	RBD_FUNCTION(rbd_open_read_only);
	return fn(io, name, image, snap_name);
}

int rbd_stat(rbd_image_t image, rbd_image_info_t *info, size_t infosize)
{
	RBD_FUNCTION(rbd_stat);
	return fn(image, info, infosize);
}

} // extern "C"
