/* The follower: a thread on a NETLINK_ROUTE socket subscribed to neighbour, route, nexthop and
 * link changes, which parses each batch the kernel queued and hands it to a callback. A thread
 * rather than an fd for the JS event loop: N-API offers no way to watch a file descriptor, and
 * Node's net module cannot wrap a netlink socket; the addon passes batches on through a
 * thread-safe function. Used by the addon's NativeNetlink. */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

/* Events handed over per callback; a busy burst becomes several calls. */
#define BATCH 256
/* Multicast datagrams can carry many messages; 64 KiB holds the largest the kernel builds. */
#define RECV_BYTES 65536
/* The socket's receive buffer: a link flap on a host with a full routing table queues
 * thousands of route messages. ENOBUFS is survivable (SU_NL_EVENT_OVERRUN), just costly. */
#define RCVBUF (4 << 20)

struct su_nl_follower {
	int fd;
	int stop_fd; /* eventfd: written once by su_nl_follower_stop */
	uint32_t ifindex;
	su_nl_deliver_fn deliver;
	void *ctx;
	pthread_t thread;
	struct su_nl_event events[BATCH];
	uint32_t n;
	int route_seen; /* one SU_NL_EVENT_ROUTE per batch is enough */
	char buf[RECV_BYTES] __attribute__((aligned(NLMSG_ALIGNTO)));
};

static void flush(struct su_nl_follower *f)
{
	if (f->n > 0)
		f->deliver(f->ctx, f->events, f->n);
	f->n = 0;
	f->route_seen = 0;
}

static void push(struct su_nl_follower *f, const struct su_nl_event *ev)
{
	if (ev->kind == SU_NL_EVENT_ROUTE) {
		if (f->route_seen)
			return;
		f->route_seen = 1;
	}
	f->events[f->n++] = *ev;
	if (f->n == BATCH)
		flush(f);
}

static int wanted(const struct su_nl_follower *f, const struct su_nl_event *ev)
{
	if (f->ifindex == 0)
		return 1;
	if (ev->kind == SU_NL_EVENT_NEIGH)
		return ev->neigh.ifindex == f->ifindex;
	if (ev->kind == SU_NL_EVENT_LINK)
		return ev->link.ifindex == f->ifindex;
	return 1;
}

/* Reads everything queued now; returns -errno when the socket failed for good. */
static int drain(struct su_nl_follower *f)
{
	for (;;) {
		ssize_t got = recv(f->fd, f->buf, sizeof(f->buf), MSG_DONTWAIT);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)f->buf;
		size_t left = got > 0 ? (size_t)got : 0;
		struct su_nl_event ev;

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (got < 0 && errno == ENOBUFS) {
			/* The kernel dropped messages: whoever listens must read everything again. */
			memset(&ev, 0, sizeof(ev));
			ev.kind = SU_NL_EVENT_OVERRUN;
			push(f, &ev);
			continue;
		}
		if (got <= 0)
			return got == 0 ? -EPIPE : -errno;
		for (; NLMSG_OK(nlh, left); nlh = NLMSG_NEXT(nlh, left))
			if (su_nl_parse_event(nlh, nlh->nlmsg_len, &ev) == 1 && wanted(f, &ev))
				push(f, &ev);
	}
	flush(f);
	return 0;
}

/* Until su_nl_follower_stop. A netlink socket fails for good only when it is closed under us
 * (ENOBUFS is not a failure): then there is nothing left to follow. */
static void *run(void *arg)
{
	struct su_nl_follower *f = arg;
	struct pollfd fds[2] = { { .fd = f->fd, .events = POLLIN }, { .fd = f->stop_fd, .events = POLLIN } };

	for (;;) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[1].revents)
			break;
		if (fds[0].revents && drain(f))
			break;
	}
	return NULL;
}

static int subscribe(int fd)
{
	static const unsigned int groups[] = { RTNLGRP_NEIGH, RTNLGRP_LINK, RTNLGRP_IPV4_ROUTE,
					       RTNLGRP_IPV6_ROUTE, RTNLGRP_NEXTHOP };
	size_t i;

	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &groups[i], sizeof(groups[i])) == 0)
			continue;
		/* Kernels before 5.3 have no nexthop objects, hence no routes that use them. */
		if (groups[i] == RTNLGRP_NEXTHOP && errno == EINVAL)
			continue;
		return -errno;
	}
	return 0;
}

static int open_socket(struct su_nl_follower *f, struct su_error *err)
{
	struct sockaddr_nl local = { .nl_family = AF_NETLINK };
	int size = RCVBUF, ret;

	f->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (f->fd < 0)
		return su_error_set(err, "ERR_SYSCALL", errno, "socket",
				    "Could not open a NETLINK_ROUTE socket: %s", strerror(errno));
	/* SO_RCVBUFFORCE passes net.core.rmem_max with CAP_NET_ADMIN; without it, what we get. */
	if (setsockopt(f->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(f->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (bind(f->fd, (struct sockaddr *)&local, sizeof(local)) < 0)
		return su_error_set(err, "ERR_SYSCALL", errno, "bind",
				    "Could not bind a NETLINK_ROUTE socket: %s", strerror(errno));
	ret = subscribe(f->fd);
	if (ret)
		return su_error_set(err, "ERR_SYSCALL", ret, "setsockopt",
				    "Could not subscribe to the kernel's neighbour, route and link "
				    "changes (NETLINK_ADD_MEMBERSHIP): %s", strerror(-ret));
	return 0;
}

int su_nl_follower_start(uint32_t ifindex, su_nl_deliver_fn deliver, void *ctx,
			 struct su_nl_follower **out, struct su_error *err)
{
	struct su_nl_follower *f = calloc(1, sizeof(*f));
	int ret;

	if (!f)
		return su_error_set(err, "ERR_SYSCALL", ENOMEM, "calloc", "Out of memory");
	f->fd = -1;
	f->ifindex = ifindex;
	f->deliver = deliver;
	f->ctx = ctx;
	f->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (f->stop_fd < 0) {
		ret = su_error_set(err, "ERR_SYSCALL", errno, "eventfd", "Could not make an eventfd: %s",
				   strerror(errno));
		goto free_follower;
	}
	ret = open_socket(f, err);
	if (ret)
		goto close_fds;
	ret = -pthread_create(&f->thread, NULL, run, f);
	if (ret) {
		su_error_set(err, "ERR_SYSCALL", -ret, "pthread_create",
			     "Could not start the netlink follower thread: %s", strerror(-ret));
		goto close_fds;
	}
	*out = f;
	return 0;

close_fds:
	if (f->fd >= 0)
		close(f->fd);
	if (f->stop_fd >= 0)
		close(f->stop_fd);
free_follower:
	free(f);
	return ret;
}

void su_nl_follower_stop(struct su_nl_follower *f)
{
	uint64_t one = 1;

	if (!f)
		return;
	/* An eventfd write of 1 cannot fail short of a counter at UINT64_MAX - 1. */
	if (write(f->stop_fd, &one, sizeof(one)) != sizeof(one))
		abort();
	pthread_join(f->thread, NULL);
	close(f->fd);
	close(f->stop_fd);
	free(f);
}
