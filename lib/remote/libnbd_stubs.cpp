// libnbd's functions as vdusectl and vdused call them, each opening into
// libnbd.so.0 (lazy_library.h). Each matches its declaration in <libnbd.h>,
// which the compiler checks.
#include "remote/lazy_library.h"

#include <libnbd.h>

// fn: NAME in libnbd, looked up at its first call.
#define NBD_FUNCTION(name)                                                                         \
	static const auto fn = vduse::required_remote_function<decltype(&::name)>(                 \
	        vduse::RemoteLibrary::nbd, #name)

extern "C" {

// The two error functions are also called after load_remote_library failed.
const char *nbd_get_error(void)
{
	static const auto fn = vduse::remote_function<decltype(&::nbd_get_error)>(
	        vduse::RemoteLibrary::nbd, "nbd_get_error");
	return fn != nullptr ? fn() : nullptr;
}

int nbd_get_errno(void)
{
	static const auto fn = vduse::remote_function<decltype(&::nbd_get_errno)>(
	        vduse::RemoteLibrary::nbd, "nbd_get_errno");
	return fn != nullptr ? fn() : 0;
}

int nbd_aio_connect_uri(struct nbd_handle *h, const char *uri)
{
	NBD_FUNCTION(nbd_aio_connect_uri);
	return fn(h, uri);
}

int64_t nbd_aio_flush(struct nbd_handle *h, nbd_completion_callback completion_callback,
                      uint32_t flags)
{
	NBD_FUNCTION(nbd_aio_flush);
	return fn(h, completion_callback, flags);
}

unsigned nbd_aio_get_direction(struct nbd_handle *h)
{
	NBD_FUNCTION(nbd_aio_get_direction);
	return fn(h);
}

int nbd_aio_get_fd(struct nbd_handle *h)
{
	NBD_FUNCTION(nbd_aio_get_fd);
	return fn(h);
}

int nbd_aio_in_flight(struct nbd_handle *h)
{
	NBD_FUNCTION(nbd_aio_in_flight);
	return fn(h);
}

int nbd_aio_is_closed(struct nbd_handle *h)
{
	NBD_FUNCTION(nbd_aio_is_closed);
	return fn(h);
}

int nbd_aio_is_connecting(struct nbd_handle *h)
{
	NBD_FUNCTION(nbd_aio_is_connecting);
	return fn(h);
}

int nbd_aio_is_dead(struct nbd_handle *h)
{
	NBD_FUNCTION(nbd_aio_is_dead);
	return fn(h);
}

int nbd_aio_is_ready(struct nbd_handle *h)
{
	NBD_FUNCTION(nbd_aio_is_ready);
	return fn(h);
}

int nbd_aio_notify_read(struct nbd_handle *h)
{
	NBD_FUNCTION(nbd_aio_notify_read);
	return fn(h);
}

int nbd_aio_notify_write(struct nbd_handle *h)
{
	NBD_FUNCTION(nbd_aio_notify_write);
	return fn(h);
}

int64_t nbd_aio_pread(struct nbd_handle *h, void *buf, size_t count, uint64_t offset,
                      nbd_completion_callback completion_callback, uint32_t flags)
{
	NBD_FUNCTION(nbd_aio_pread);
	return fn(h, buf, count, offset, completion_callback, flags);
}

int64_t nbd_aio_pwrite(struct nbd_handle *h, const void *buf, size_t count, uint64_t offset,
                       nbd_completion_callback completion_callback, uint32_t flags)
{
	NBD_FUNCTION(nbd_aio_pwrite);
	return fn(h, buf, count, offset, completion_callback, flags);
}

int64_t nbd_aio_trim(struct nbd_handle *h, uint64_t count, uint64_t offset,
                     nbd_completion_callback completion_callback, uint32_t flags)
{
	NBD_FUNCTION(nbd_aio_trim);
	return fn(h, count, offset, completion_callback, flags);
}

int64_t nbd_aio_zero(struct nbd_handle *h, uint64_t count, uint64_t offset,
                     nbd_completion_callback completion_callback, uint32_t flags)
{
	NBD_FUNCTION(nbd_aio_zero);
	return fn(h, count, offset, completion_callback, flags);
}

int nbd_can_flush(struct nbd_handle *h)
{
	NBD_FUNCTION(nbd_can_flush);
	return fn(h);
}

int nbd_can_multi_conn(struct nbd_handle *h)
{
	NBD_FUNCTION(nbd_can_multi_conn);
	return fn(h);
}

int nbd_can_trim(struct nbd_handle *h)
{
	NBD_FUNCTION(nbd_can_trim);
	return fn(h);
}

int nbd_can_zero(struct nbd_handle *h)
{
	NBD_FUNCTION(nbd_can_zero);
	return fn(h);
}

void nbd_close(struct nbd_handle *h)
{
	NBD_FUNCTION(nbd_close);
	return fn(h);
}

struct nbd_handle *nbd_create(void)
{
	NBD_FUNCTION(nbd_create);
	return fn();
}

int64_t nbd_get_block_size(struct nbd_handle *h, int size_type)
{
	NBD_FUNCTION(nbd_get_block_size);
	return fn(h, size_type);
}

int64_t nbd_get_size(struct nbd_handle *h)
{
	NBD_FUNCTION(nbd_get_size);
	return fn(h);
}

int nbd_is_read_only(struct nbd_handle *h)
{
	NBD_FUNCTION(nbd_is_read_only);
	return fn(h);
}

int nbd_poll(struct nbd_handle *h, int timeout)
{
	NBD_FUNCTION(nbd_poll);
	return fn(h, timeout);
}

int nbd_set_pread_initialize(struct nbd_handle *h, bool request)
{
	NBD_FUNCTION(nbd_set_pread_initialize);
	return fn(h, request);
}

int nbd_set_uri_allow_local_file(struct nbd_handle *h, bool allow)
{
	NBD_FUNCTION(nbd_set_uri_allow_local_file);
	return fn(h, allow);
}

} // extern "C"
