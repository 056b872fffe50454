/* The kernel's routing and neighbour tables over rtnetlink, without a library: route lookups,
 * neighbour reads and probes (NTF_USE), and a thread that follows neighbour, route and link
 * changes. Plain C; used by the addon's NativeNetlink (native/addon/netlink_wrap.cc) and by
 * native/test/netlink_test.c. */
#ifndef SOFTUNICAST_NETLINK_H
#define SOFTUNICAST_NETLINK_H

#include <stddef.h>
#include <stdint.h>

#include "softunicast/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SU_NL_ADDR_MAX 16   /* an IPv6 address */
#define SU_NL_LLADDR_MAX 32 /* MAX_ADDR_LEN (linux/netdevice.h) */

/* One entry of the kernel's neighbour table (ARP or NDP), as RTM_NEWNEIGH/RTM_DELNEIGH say. */
struct su_nl_neigh {
	uint8_t family;     /* AF_INET or AF_INET6 */
	uint8_t deleted;    /* 1: RTM_DELNEIGH, the entry is gone */
	uint16_t state;     /* NUD_* (linux/neighbour.h) */
	uint8_t flags;      /* NTF_* */
	uint8_t lladdr_len; /* 0: no link-layer address (the kernel sends one only in NUD_VALID states) */
	uint32_t ifindex;
	uint8_t addr[SU_NL_ADDR_MAX];
	uint8_t lladdr[SU_NL_LLADDR_MAX];
};

/* An interface's state, from RTM_NEWLINK/RTM_DELLINK. */
struct su_nl_link {
	uint32_t ifindex;
	uint32_t flags;  /* IFF_* (linux/if.h): IFF_UP is the administrative state, IFF_LOWER_UP the carrier */
	uint8_t deleted; /* 1: RTM_DELLINK */
};

enum su_nl_event_kind {
	SU_NL_EVENT_NEIGH = 1,
	SU_NL_EVENT_LINK = 2,
	/* A route or nexthop object was added, changed or removed: any route lookup may answer
	 * differently now. The follower reports at most one per batch of messages. */
	SU_NL_EVENT_ROUTE = 3,
	/* The socket's buffer overflowed (ENOBUFS) and changes were lost: read everything again. */
	SU_NL_EVENT_OVERRUN = 4,
};

struct su_nl_event {
	uint32_t kind; /* enum su_nl_event_kind */
	union {
		struct su_nl_neigh neigh;
		struct su_nl_link link;
	};
};

/* Turns one rtnetlink message (`len` bytes from its nlmsghdr) into `out`. Returns 1 for an
 * event, 0 for a message the follower does not follow (another family, a proxy entry, ...) and
 * -EBADMSG for a malformed one. */
int su_nl_parse_event(const void *msg, size_t len, struct su_nl_event *out);

/* How the kernel would send to an address (RTM_GETROUTE, as `ip route get`). */
struct su_nl_route {
	int error;           /* 0, or the errno the kernel answered with (ENETUNREACH: no route) */
	uint8_t type;        /* RTN_UNICAST, RTN_LOCAL, ... */
	uint8_t gw_family;   /* AF_UNSPEC: on-link; else the gateway's family (AF_INET6 for an
			      * IPv4 route over an IPv6 next hop, RFC 5549) */
	uint32_t oif;        /* output interface */
	uint8_t gateway[SU_NL_ADDR_MAX];
};

/* Reads an RTM_NEWROUTE answer into `out` (error left alone). 0, or -EBADMSG. */
int su_nl_parse_route(const void *msg, size_t len, struct su_nl_route *out);

/* A socket for requests, used by one thread at a time. */
struct su_nl;

int su_nl_open(struct su_nl **out, struct su_error *err);
void su_nl_close(struct su_nl *nl);

/* Each of these returns 0 when the kernel answered (its answer, possibly an errno, in `out` or
 * `answer`) and -errno with `err` filled when the socket itself failed. `family` is AF_INET or
 * AF_INET6, and `addr` holds 4 or 16 bytes accordingly. */
int su_nl_route_get(struct su_nl *nl, int family, const void *addr, struct su_nl_route *out,
		    struct su_error *err);
/* The neighbour entry for `addr` on `ifindex`; *answer ENOENT when there is none. */
int su_nl_neigh_get(struct su_nl *nl, int family, uint32_t ifindex, const void *addr,
		    struct su_nl_neigh *out, int *answer, struct su_error *err);
/* RTM_NEWNEIGH with NTF_USE (and NLM_F_CREATE): the kernel treats the entry as used by
 * traffic. A REACHABLE one is probed rather than left to go STALE when its time is up, a STALE
 * one is probed, a FAILED or missing one is resolved anew (net/core/neighbour.c, neigh_add and
 * __neigh_event_send). Never for NUD_PERMANENT entries: NTF_USE clears that state. */
int su_nl_neigh_use(struct su_nl *nl, int family, uint32_t ifindex, const void *addr,
		    int *answer, struct su_error *err);
/* The state of interface `ifindex`; *answer ENODEV when there is none. */
int su_nl_link_get(struct su_nl *nl, uint32_t ifindex, struct su_nl_link *out, int *answer,
		   struct su_error *err);

/* A thread that follows the kernel's neighbour, route, nexthop and link changes (multicast
 * groups of NETLINK_ROUTE) and hands them, parsed, to `deliver` on that thread, a batch at a
 * time. Neighbour and link events of interfaces other than `ifindex` are left out (0: keep
 * all). */
typedef void (*su_nl_deliver_fn)(void *ctx, const struct su_nl_event *events, uint32_t n);
struct su_nl_follower;

int su_nl_follower_start(uint32_t ifindex, su_nl_deliver_fn deliver, void *ctx,
			 struct su_nl_follower **out, struct su_error *err);
/* Stops and joins the thread: `deliver` is not called after this returns. NULL is a no-op. */
void su_nl_follower_stop(struct su_nl_follower *f);

#ifdef __cplusplus
}
#endif

#endif /* SOFTUNICAST_NETLINK_H */
