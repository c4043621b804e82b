#include "remote/lazy_library.h"

#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <string>

namespace vduse
{

namespace
{

struct Library {
	void *handle = nullptr; // never closed: stubs may run until exit
	std::string error;
};

Library open_library(const char *soname, const char *package)
{
	Library lib;
	lib.handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (lib.handle == nullptr) {
		const char *why = dlerror();
		lib.error = std::string("cannot load ") + soname + " (Debian package " + package +
		            "): " + (why != nullptr ? why : "unknown error");
	}
	return lib;
}

// Opened at the first call for that library; thread-safe (static locals).
const Library &library(RemoteLibrary which)
{
	if (which == RemoteLibrary::nbd) {
		static const Library nbd = open_library("libnbd.so.0", "libnbd0");
		return nbd;
	}
	static const Library rbd = open_library("librbd.so.1", "librbd1");
	return rbd;
}

} // namespace

Status load_remote_library(RemoteLibrary which)
{
	const Library &lib = library(which);
	if (lib.handle == nullptr)
		return failure(lib.error);
	return {};
}

void *remote_symbol(RemoteLibrary which, const char *symbol)
{
	const Library &lib = library(which);
	// dlsym also searches what the library brought (librbd: librados).
	return lib.handle == nullptr ? nullptr : dlsym(lib.handle, symbol);
}

void *required_remote_symbol(RemoteLibrary which, const char *symbol)
{
	void *address = remote_symbol(which, symbol);
	if (address == nullptr) {
		(void)std::fprintf(stderr, "%s: called without its library loaded (%s)\n", symbol,
		                   library(which).error.c_str());
		std::abort();
	}
	return address;
}

} // namespace vduse
