#include "vdpa/vdpa_netlink.h"

#include <cstring>
#include <linux/netlink.h>
#include <linux/vdpa.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <sys/socket.h>

namespace vduse
{

namespace
{
constexpr int vdpa_genl_version = 1;

struct MsgDeleter {
	void operator()(nl_msg *msg) const { nlmsg_free(msg); }
};
struct CbDeleter {
	void operator()(nl_cb *cb) const { nl_cb_put(cb); }
};
} // namespace

struct VdpaNetlink::Reply {
	bool done = false;
	int error = 0;       // errno from the kernel's NLMSG_ERROR
	std::string ext_ack; // the kernel's extended-ack message, if any
};

void VdpaNetlink::SockDeleter::operator()(nl_sock *sock) const
{
	nl_socket_free(sock);
}

Result<VdpaNetlink> VdpaNetlink::connect()
{
	std::unique_ptr<nl_sock, SockDeleter> sock(nl_socket_alloc());
	if (!sock)
		return Error{ENOMEM, "cannot allocate a netlink socket"};
	if (int err = genl_connect(sock.get()); err < 0)
		return Error{EIO,
		             std::string("cannot connect to generic netlink: ") + nl_geterror(err)};
	int on = 1;
	// Best effort: older kernels lack extended acks and we then report errno only.
	(void)setsockopt(nl_socket_get_fd(sock.get()), SOL_NETLINK, NETLINK_EXT_ACK, &on,
	                 sizeof(on));
	(void)setsockopt(nl_socket_get_fd(sock.get()), SOL_NETLINK, NETLINK_CAP_ACK, &on,
	                 sizeof(on));
	int family = genl_ctrl_resolve(sock.get(), VDPA_GENL_NAME);
	if (family < 0)
		return Error{ENOENT,
		             "the kernel has no vdpa netlink family (vdpa is not loaded or "
		             "not in this kernel: 'vdusectl check' says which, and the fix)"};
	return VdpaNetlink(std::move(sock), family);
}

namespace
{

int on_error(sockaddr_nl *, nlmsgerr *err, void *arg)
{
	auto *reply = static_cast<VdpaNetlink::Reply *>(arg);
	reply->done = true;
	reply->error = -err->error;
	// The TLVs follow the nlmsgerr, after the echoed request unless the ack is capped.
	auto *hdr = reinterpret_cast<nlmsghdr *>(reinterpret_cast<char *>(err) - NLMSG_HDRLEN);
	if (hdr->nlmsg_flags & NLM_F_ACK_TLVS) {
		size_t offset = NLMSG_HDRLEN + sizeof(*err);
		if (!(hdr->nlmsg_flags & NLM_F_CAPPED))
			offset += err->msg.nlmsg_len - NLMSG_HDRLEN;
		if (offset < hdr->nlmsg_len) {
			auto *attrs =
			        reinterpret_cast<nlattr *>(reinterpret_cast<char *>(hdr) + offset);
			int len = static_cast<int>(hdr->nlmsg_len - offset);
			if (nlattr *msg = nla_find(attrs, len, NLMSGERR_ATTR_MSG))
				reply->ext_ack = nla_get_string(msg);
		}
	}
	return NL_STOP;
}

int on_ack(nl_msg *, void *arg)
{
	static_cast<VdpaNetlink::Reply *>(arg)->done = true;
	return NL_STOP;
}

} // namespace

Status VdpaNetlink::transact(uint8_t cmd, const std::vector<StringAttr> &attrs, Reply &reply,
                             const std::string &what)
{
	std::unique_ptr<nl_msg, MsgDeleter> msg(nlmsg_alloc());
	if (!msg)
		return Error{ENOMEM, what + ": out of memory"};
	if (!genlmsg_put(msg.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family_, 0,
	                 NLM_F_REQUEST | NLM_F_ACK, cmd, vdpa_genl_version))
		return Error{ENOMEM, what + ": cannot build the netlink message"};
	for (const auto &[type, value] : attrs) {
		if (nla_put_string(msg.get(), type, value.c_str()) < 0)
			return Error{ENOMEM, what + ": cannot build the netlink message"};
	}

	std::unique_ptr<nl_cb, CbDeleter> cb(nl_cb_alloc(NL_CB_DEFAULT));
	if (!cb)
		return Error{ENOMEM, what + ": out of memory"};
	nl_cb_err(cb.get(), NL_CB_CUSTOM, on_error, &reply);
	nl_cb_set(cb.get(), NL_CB_ACK, NL_CB_CUSTOM, on_ack, &reply);

	if (int err = nl_send_auto(sock_.get(), msg.get()); err < 0)
		return Error{EIO, what + ": " + nl_geterror(err)};
	while (!reply.done) {
		int err = nl_recvmsgs(sock_.get(), cb.get());
		if (err < 0 && !reply.done)
			return Error{EIO, what + ": " + nl_geterror(err)};
	}
	if (reply.error != 0) {
		std::string message = what + ": " + std::strerror(reply.error);
		if (!reply.ext_ack.empty())
			message += " (" + reply.ext_ack + ")";
		return Error{reply.error, message};
	}
	return {};
}

Status VdpaNetlink::add_device(const std::string &name)
{
	Reply reply;
	return transact(VDPA_CMD_DEV_NEW,
	                {{VDPA_ATTR_DEV_NAME, name}, {VDPA_ATTR_MGMTDEV_DEV_NAME, "vduse"}}, reply,
	                "cannot attach '" + name + "' to the vdpa bus");
}

Status VdpaNetlink::del_device(const std::string &name)
{
	Reply reply;
	return transact(VDPA_CMD_DEV_DEL, {{VDPA_ATTR_DEV_NAME, name}}, reply,
	                "cannot detach '" + name + "' from the vdpa bus");
}

Status VdpaNetlink::check_management_device(const std::string &mgmtdev)
{
	Reply reply;
	return transact(VDPA_CMD_MGMTDEV_GET, {{VDPA_ATTR_MGMTDEV_DEV_NAME, mgmtdev}}, reply,
	                "no vdpa management device '" + mgmtdev + "'");
}

} // namespace vduse
