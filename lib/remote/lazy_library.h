// The storage client libraries, opened on first use (dlopen) rather than at
// every start of vdusectl and vdused: in the TCG test guest librados and
// librbd took 375 ms to load and libnbd 100 ms, of vdusectl's 510 ms start
// (2026-12-07), whatever the device's backend. The libraries' functions are
// defined here as stubs that call into them (libnbd_stubs.cpp,
// librbd_stubs.cpp), so code calls them as declared in their headers, after
// load_remote_library said yes.
#pragma once

#include "base/result.h"

namespace vduse
{

enum class RemoteLibrary {
	nbd, // libnbd.so.0
	rbd, // librbd.so.1, which brings librados.so.2
};

// Opens the library once; fails, every time, naming it and the Debian
// package that has it.
Status load_remote_library(RemoteLibrary which);

// SYMBOL's address in the library, or nullptr if the library is not open.
void *remote_symbol(RemoteLibrary which, const char *symbol);

// The same, for a function that only a handle made after
// load_remote_library can reach: aborts, naming it, if it is not there.
void *required_remote_symbol(RemoteLibrary which, const char *symbol);

// remote_symbol and required_remote_symbol as a pointer to the function
// they name.
template <typename Function>
Function remote_function(RemoteLibrary which, const char *symbol)
{
	return reinterpret_cast<Function>(remote_symbol(which, symbol));
}
template <typename Function>
Function required_remote_function(RemoteLibrary which, const char *symbol)
{
	return reinterpret_cast<Function>(required_remote_symbol(which, symbol));
}

} // namespace vduse
