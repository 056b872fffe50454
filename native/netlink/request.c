/* Requests to the kernel's routing and neighbour tables on a NETLINK_ROUTE socket of their own:
 * route lookups, neighbour reads, NTF_USE probes, link reads. Each is one message and its
 * answer; the kernel handles rtnetlink requests inside sendmsg(), so the answer is waiting by
 * the time recv() asks and a call costs microseconds. Used by the addon's NativeNetlink. */
#include <errno.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "internal.h"

struct su_nl {
	int fd;
	uint32_t seq;
};

/* A request: header, fixed part and at most one address attribute. */
struct request {
	struct nlmsghdr nlh;
	union {
		struct rtmsg rtm;
		struct ndmsg ndm;
		struct ifinfomsg ifi;
	};
	char attrs[RTA_SPACE(SU_NL_ADDR_MAX)];
};

/* Answers are a message and an acknowledgement, or an error: a page holds them. */
#define ANSWER_BYTES 16384

int su_nl_open(struct su_nl **out, struct su_error *err)
{
	struct sockaddr_nl local = { .nl_family = AF_NETLINK };
	/* The kernel answers within sendmsg(); a second is a safe bound on a lost answer. */
	struct timeval timeout = { .tv_sec = 1 };
	int one = 1;
	struct su_nl *nl = calloc(1, sizeof(*nl));

	if (!nl)
		return su_error_set(err, "ERR_SYSCALL", ENOMEM, "calloc", "Out of memory");
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl->fd < 0) {
		int e = errno;

		free(nl);
		return su_error_set(err, "ERR_SYSCALL", e, "socket",
				    "Could not open a NETLINK_ROUTE socket: %s", strerror(e));
	}
	if (bind(nl->fd, (struct sockaddr *)&local, sizeof(local)) < 0 ||
	    setsockopt(nl->fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) < 0) {
		int e = errno;

		close(nl->fd);
		free(nl);
		return su_error_set(err, "ERR_SYSCALL", e, "bind",
				    "Could not bind a NETLINK_ROUTE socket: %s", strerror(e));
	}
	/* Errors without a copy of the request: answers stay small. Optional (Linux 4.3+). */
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	*out = nl;
	return 0;
}

void su_nl_close(struct su_nl *nl)
{
	if (!nl)
		return;
	close(nl->fd);
	free(nl);
}

/* Appends attribute `type` holding `len` bytes of `addr` after the request's fixed part. */
static void put_addr(struct request *req, unsigned short type, const void *addr, size_t len)
{
	struct rtattr *rta = (struct rtattr *)((char *)&req->nlh + NLMSG_ALIGN(req->nlh.nlmsg_len));

	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), addr, len);
	req->nlh.nlmsg_len = NLMSG_ALIGN(req->nlh.nlmsg_len) + RTA_SPACE(len);
}

/* Sends `req` and reads until the kernel's acknowledgement or error for it: the message
 * before it, if any, goes to `on_reply`. *answer is the kernel's errno (0: done). */
static int transact(struct su_nl *nl, struct request *req, const char *what,
		    int (*on_reply)(const struct nlmsghdr *, size_t, void *), void *arg,
		    int *answer, struct su_error *err)
{
	char buf[ANSWER_BYTES] __attribute__((aligned(NLMSG_ALIGNTO)));
	uint32_t seq = ++nl->seq;

	req->nlh.nlmsg_seq = seq;
	req->nlh.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (send(nl->fd, req, req->nlh.nlmsg_len, 0) < 0)
		return su_error_set(err, "ERR_SYSCALL", errno, "send", "Could not send %s to the kernel: %s",
				    what, strerror(errno));
	for (;;) {
		ssize_t got = recv(nl->fd, buf, sizeof(buf), 0);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		size_t left = got > 0 ? (size_t)got : 0;

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return su_error_set(err, "ERR_SYSCALL", errno, "recv",
					    "Got no answer from the kernel to %s: %s", what, strerror(errno));
		for (; NLMSG_OK(nlh, left); nlh = NLMSG_NEXT(nlh, left)) {
			if (nlh->nlmsg_seq != seq)
				continue; /* an answer to an earlier request that timed out */
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nlh);

				if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return su_error_set(err, "ERR_SYSCALL", EBADMSG, "recv",
							    "The kernel's answer to %s is truncated", what);
				*answer = -e->error;
				return 0;
			}
			if (on_reply && on_reply(nlh, nlh->nlmsg_len, arg))
				return su_error_set(err, "ERR_SYSCALL", EBADMSG, "recv",
						    "The kernel's answer to %s is malformed", what);
		}
	}
}

static void init(struct request *req, uint16_t type, size_t fixed)
{
	memset(req, 0, sizeof(*req));
	req->nlh.nlmsg_type = type;
	req->nlh.nlmsg_len = NLMSG_LENGTH(fixed);
}

static int route_reply(const struct nlmsghdr *nlh, size_t len, void *arg)
{
	return su_nl_parse_route(nlh, len, arg) ? -EBADMSG : 0;
}

int su_nl_route_get(struct su_nl *nl, int family, const void *addr, struct su_nl_route *out,
		    struct su_error *err)
{
	struct request req;
	size_t len = su_nl_key_len(family);

	if (len == 0)
		return su_error_set(err, "ERR_INVALID_OPTION", EAFNOSUPPORT, NULL,
				    "Expected address family AF_INET or AF_INET6 but received %d", family);
	init(&req, RTM_GETROUTE, sizeof(req.rtm));
	req.rtm.rtm_family = (unsigned char)family;
	req.rtm.rtm_dst_len = (unsigned char)(len * 8);
	put_addr(&req, RTA_DST, addr, len);
	memset(out, 0, sizeof(*out));
	return transact(nl, &req, "a route lookup", route_reply, out, &out->error, err);
}

struct neigh_arg {
	struct su_nl_neigh *out;
	int found;
};

static int neigh_reply(const struct nlmsghdr *nlh, size_t len, void *arg)
{
	struct neigh_arg *a = arg;
	struct su_nl_event ev;

	if (su_nl_parse_event(nlh, len, &ev) != 1 || ev.kind != SU_NL_EVENT_NEIGH)
		return -EBADMSG;
	*a->out = ev.neigh;
	a->found = 1;
	return 0;
}

int su_nl_neigh_get(struct su_nl *nl, int family, uint32_t ifindex, const void *addr,
		    struct su_nl_neigh *out, int *answer, struct su_error *err)
{
	struct neigh_arg arg = { .out = out };
	struct request req;
	size_t len = su_nl_key_len(family);
	int ret;

	if (len == 0)
		return su_error_set(err, "ERR_INVALID_OPTION", EAFNOSUPPORT, NULL,
				    "Expected address family AF_INET or AF_INET6 but received %d", family);
	init(&req, RTM_GETNEIGH, sizeof(req.ndm));
	req.ndm.ndm_family = (unsigned char)family;
	req.ndm.ndm_ifindex = (int)ifindex;
	put_addr(&req, NDA_DST, addr, len);
	memset(out, 0, sizeof(*out));
	ret = transact(nl, &req, "a neighbour lookup", neigh_reply, &arg, answer, err);
	if (ret == 0 && *answer == 0 && !arg.found)
		*answer = ENOENT;
	return ret;
}

int su_nl_neigh_use(struct su_nl *nl, int family, uint32_t ifindex, const void *addr,
		    int *answer, struct su_error *err)
{
	struct request req;
	size_t len = su_nl_key_len(family);

	if (len == 0)
		return su_error_set(err, "ERR_INVALID_OPTION", EAFNOSUPPORT, NULL,
				    "Expected address family AF_INET or AF_INET6 but received %d", family);
	init(&req, RTM_NEWNEIGH, sizeof(req.ndm));
	/* NLM_F_CREATE: a missing entry is made and resolved. Without NLM_F_REPLACE the kernel
	 * changes no address (neigh_add drops NEIGH_UPDATE_F_OVERRIDE); ndm_state is ignored
	 * with NTF_USE. */
	req.nlh.nlmsg_flags = NLM_F_CREATE;
	req.ndm.ndm_family = (unsigned char)family;
	req.ndm.ndm_ifindex = (int)ifindex;
	req.ndm.ndm_flags = NTF_USE;
	put_addr(&req, NDA_DST, addr, len);
	return transact(nl, &req, "a neighbour probe (NTF_USE)", NULL, NULL, answer, err);
}

struct link_arg {
	struct su_nl_link *out;
	int found;
};

static int link_reply(const struct nlmsghdr *nlh, size_t len, void *arg)
{
	struct link_arg *a = arg;
	struct su_nl_event ev;

	if (su_nl_parse_event(nlh, len, &ev) != 1 || ev.kind != SU_NL_EVENT_LINK)
		return -EBADMSG;
	*a->out = ev.link;
	a->found = 1;
	return 0;
}

int su_nl_link_get(struct su_nl *nl, uint32_t ifindex, struct su_nl_link *out, int *answer,
		   struct su_error *err)
{
	struct link_arg arg = { .out = out };
	struct request req;
	int ret;

	init(&req, RTM_GETLINK, sizeof(req.ifi));
	req.ifi.ifi_family = AF_UNSPEC;
	req.ifi.ifi_index = (int)ifindex;
	memset(out, 0, sizeof(*out));
	ret = transact(nl, &req, "an interface lookup", link_reply, &arg, answer, err);
	if (ret == 0 && *answer == 0 && !arg.found)
		*answer = ENODEV;
	return ret;
}
