// Who is at the other end of a unix socket (SO_PEERCRED), so that a daemon
// hands a VM's memory or a device's data only to the server it was told
// of: a path in a shared directory can be taken by another local user once
// the server that made it is gone.
#pragma once

#include "base/result.h"
#include "base/unique_fd.h"

#include <optional>
#include <string>
#include <sys/types.h>

namespace vduse
{

// The user of the process that listens at the other end of a connected
// unix socket (its credentials when it called listen()); nullopt if fd is
// not a connected unix socket.
std::optional<uid_t> unix_peer_uid(int fd);

// A pidfd of the process at the other end of a connected unix socket: it
// becomes readable when that process has exited, and with it every mapping
// of memory it was handed. Empty if the peer is not known (another PID
// namespace, not a unix socket).
UniqueFd unix_peer_pidfd(int fd);

// Accepts a peer running as owner or as root; fd not a unix socket: ok.
// what names the socket in the error.
Status check_socket_peer(int fd, uid_t owner, const std::string &what);

// "name (uid N)", or "uid N" for a user without a name.
std::string describe_user(uid_t uid);

// A user name or a numeric uid, as --socket-owner takes it.
Result<uid_t> parse_user(const std::string &text);

} // namespace vduse
