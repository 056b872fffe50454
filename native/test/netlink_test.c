/* Tests native/netlink without root: the parser on crafted rtnetlink messages (neighbour, link,
 * route and nexthop notifications, route answers, malformed ones), requests answered by this
 * namespace's kernel (lo), and the follower in a network namespace of its own (a user namespace
 * when not root), where bringing lo up must reach it as a link and a route change. Run under
 * valgrind by test/unit/native-c.test.ts. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "softunicast/netlink.h"
#include "tap.h"

/* linux/if.h: the carrier bit. net/if.h, needed for if_nametoindex, lacks it and clashes with
 * linux/if.h. */
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

/* ---- crafting messages ------------------------------------------------------------------ */

struct msg {
	char buf[512] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh;
};

static void *begin(struct msg *m, uint16_t type, const void *fixed, size_t len)
{
	memset(m, 0, sizeof(*m));
	m->nlh = (struct nlmsghdr *)m->buf;
	m->nlh->nlmsg_type = type;
	m->nlh->nlmsg_len = NLMSG_LENGTH(len);
	memcpy(NLMSG_DATA(m->nlh), fixed, len);
	return NLMSG_DATA(m->nlh);
}

static void attr(struct msg *m, unsigned short type, const void *data, size_t len)
{
	struct rtattr *rta = (struct rtattr *)(m->buf + NLMSG_ALIGN(m->nlh->nlmsg_len));

	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	m->nlh->nlmsg_len = NLMSG_ALIGN(m->nlh->nlmsg_len) + RTA_SPACE(len);
}

static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0x09, 0x02 };

static void neigh_msg(struct msg *m, uint16_t type, int family, uint16_t state, uint8_t flags,
		      const char *addr, const uint8_t *ll)
{
	struct ndmsg ndm = { .ndm_family = (uint8_t)family, .ndm_ifindex = 7, .ndm_state = state,
			     .ndm_flags = flags };
	uint8_t a[16];

	begin(m, type, &ndm, sizeof(ndm));
	inet_pton(family, addr, a);
	attr(m, NDA_DST, a, family == AF_INET ? 4 : 16);
	if (ll)
		attr(m, NDA_LLADDR, ll, 6);
}

/* ---- the parser --------------------------------------------------------------------------- */

static void test_neighbours(void)
{
	struct su_nl_event ev;
	struct msg m;
	uint8_t v4[4], v6[16];

	neigh_msg(&m, RTM_NEWNEIGH, AF_INET, NUD_REACHABLE, 0, "10.9.0.2", mac);
	inet_pton(AF_INET, "10.9.0.2", v4);
	CHECK(su_nl_parse_event(m.buf, m.nlh->nlmsg_len, &ev) == 1 && ev.kind == SU_NL_EVENT_NEIGH &&
		      ev.neigh.family == AF_INET && ev.neigh.ifindex == 7 &&
		      ev.neigh.state == NUD_REACHABLE && !ev.neigh.deleted &&
		      memcmp(ev.neigh.addr, v4, 4) == 0 && ev.neigh.lladdr_len == 6 &&
		      memcmp(ev.neigh.lladdr, mac, 6) == 0,
	      "RTM_NEWNEIGH: address, interface, state and MAC");

	neigh_msg(&m, RTM_DELNEIGH, AF_INET6, NUD_FAILED, 0, "fe80::2", NULL);
	inet_pton(AF_INET6, "fe80::2", v6);
	CHECK(su_nl_parse_event(m.buf, m.nlh->nlmsg_len, &ev) == 1 && ev.neigh.deleted &&
		      ev.neigh.family == AF_INET6 && memcmp(ev.neigh.addr, v6, 16) == 0 &&
		      ev.neigh.lladdr_len == 0 && ev.neigh.state == NUD_FAILED,
	      "RTM_DELNEIGH of an IPv6 entry without a MAC");

	neigh_msg(&m, RTM_NEWNEIGH, AF_INET, NUD_REACHABLE, NTF_PROXY, "10.9.0.2", NULL);
	CHECK(su_nl_parse_event(m.buf, m.nlh->nlmsg_len, &ev) == 0, "proxy entries are left out");
	{
		struct ndmsg ndm = { .ndm_family = AF_BRIDGE, .ndm_ifindex = 7 };

		begin(&m, RTM_NEWNEIGH, &ndm, sizeof(ndm));
		attr(&m, NDA_LLADDR, mac, 6);
		CHECK(su_nl_parse_event(m.buf, m.nlh->nlmsg_len, &ev) == 0,
		      "bridge FDB entries are left out");
	}
}

static void test_malformed(void)
{
	struct su_nl_event ev;
	struct msg m;
	struct ndmsg ndm = { .ndm_family = AF_INET, .ndm_ifindex = 7 };
	uint8_t six[6] = { 0 };

	neigh_msg(&m, RTM_NEWNEIGH, AF_INET, NUD_REACHABLE, 0, "10.9.0.2", mac);
	CHECK(su_nl_parse_event(m.buf, m.nlh->nlmsg_len - 4, &ev) == -EBADMSG,
	      "a message longer than the bytes received");
	CHECK(su_nl_parse_event(m.buf, 8, &ev) == -EBADMSG, "fewer bytes than a header");

	begin(&m, RTM_NEWNEIGH, &ndm, sizeof(ndm));
	attr(&m, NDA_LLADDR, mac, 6);
	CHECK(su_nl_parse_event(m.buf, m.nlh->nlmsg_len, &ev) == -EBADMSG, "a neighbour without NDA_DST");

	begin(&m, RTM_NEWNEIGH, &ndm, sizeof(ndm));
	attr(&m, NDA_DST, six, 6);
	CHECK(su_nl_parse_event(m.buf, m.nlh->nlmsg_len, &ev) == -EBADMSG,
	      "an IPv4 neighbour whose NDA_DST holds 6 bytes");

	begin(&m, RTM_NEWNEIGH, &ndm, 4);
	CHECK(su_nl_parse_event(m.buf, m.nlh->nlmsg_len, &ev) == -EBADMSG,
	      "a neighbour message shorter than struct ndmsg");
}

static void test_links_and_routes(void)
{
	struct ifinfomsg ifi = { .ifi_index = 3, .ifi_flags = IFF_UP | IFF_LOWER_UP };
	struct rtmsg rtm = { .rtm_family = AF_INET };
	struct ifaddrmsg ifa = { .ifa_family = AF_INET };
	struct su_nl_event ev;
	struct msg m;

	begin(&m, RTM_NEWLINK, &ifi, sizeof(ifi));
	CHECK(su_nl_parse_event(m.buf, m.nlh->nlmsg_len, &ev) == 1 && ev.kind == SU_NL_EVENT_LINK &&
		      ev.link.ifindex == 3 && ev.link.flags == (IFF_UP | IFF_LOWER_UP) &&
		      !ev.link.deleted,
	      "RTM_NEWLINK: interface and flags");
	begin(&m, RTM_DELLINK, &ifi, sizeof(ifi));
	CHECK(su_nl_parse_event(m.buf, m.nlh->nlmsg_len, &ev) == 1 && ev.link.deleted, "RTM_DELLINK");

	begin(&m, RTM_DELROUTE, &rtm, sizeof(rtm));
	CHECK(su_nl_parse_event(m.buf, m.nlh->nlmsg_len, &ev) == 1 && ev.kind == SU_NL_EVENT_ROUTE,
	      "RTM_DELROUTE is a route change");
	begin(&m, RTM_NEWNEXTHOP, &rtm, sizeof(rtm));
	CHECK(su_nl_parse_event(m.buf, m.nlh->nlmsg_len, &ev) == 1 && ev.kind == SU_NL_EVENT_ROUTE,
	      "RTM_NEWNEXTHOP is a route change");
	begin(&m, RTM_NEWADDR, &ifa, sizeof(ifa));
	CHECK(su_nl_parse_event(m.buf, m.nlh->nlmsg_len, &ev) == 0, "RTM_NEWADDR is not followed");
}

static void test_route_answers(void)
{
	struct rtmsg rtm = { .rtm_family = AF_INET, .rtm_type = RTN_UNICAST };
	struct su_nl_route r;
	struct msg m;
	uint32_t oif = 5;
	uint8_t gw[4], gw6[18] = { 0 };
	uint16_t wrong = 5;

	inet_pton(AF_INET, "10.9.0.254", gw);
	begin(&m, RTM_NEWROUTE, &rtm, sizeof(rtm));
	attr(&m, RTA_OIF, &oif, 4);
	attr(&m, RTA_GATEWAY, gw, 4);
	CHECK(su_nl_parse_route(m.buf, m.nlh->nlmsg_len, &r) == 0 && r.oif == 5 &&
		      r.gw_family == AF_INET && memcmp(r.gateway, gw, 4) == 0 && r.type == RTN_UNICAST,
	      "a route through a gateway");

	begin(&m, RTM_NEWROUTE, &rtm, sizeof(rtm));
	attr(&m, RTA_OIF, &oif, 4);
	CHECK(su_nl_parse_route(m.buf, m.nlh->nlmsg_len, &r) == 0 && r.gw_family == AF_UNSPEC,
	      "an on-link route has no gateway");

	/* struct rtvia: a 2-byte family, then the address (RFC 5549: IPv4 over an IPv6 next hop). */
	gw6[0] = AF_INET6; /* little-endian u16 */
	inet_pton(AF_INET6, "fe80::1", gw6 + 2);
	begin(&m, RTM_NEWROUTE, &rtm, sizeof(rtm));
	attr(&m, RTA_OIF, &oif, 4);
	attr(&m, RTA_VIA, gw6, sizeof(gw6));
	CHECK(su_nl_parse_route(m.buf, m.nlh->nlmsg_len, &r) == 0 && r.gw_family == AF_INET6 &&
		      memcmp(r.gateway, gw6 + 2, 16) == 0,
	      "an IPv4 route over an IPv6 next hop (RTA_VIA)");

	begin(&m, RTM_NEWROUTE, &rtm, sizeof(rtm));
	attr(&m, RTA_OIF, &wrong, 2);
	CHECK(su_nl_parse_route(m.buf, m.nlh->nlmsg_len, &r) == -EBADMSG, "an RTA_OIF of 2 bytes");
	begin(&m, RTM_NEWROUTE, &rtm, sizeof(rtm));
	attr(&m, RTA_GATEWAY, gw6, 16);
	CHECK(su_nl_parse_route(m.buf, m.nlh->nlmsg_len, &r) == -EBADMSG,
	      "an IPv4 route with a 16-byte gateway");
}

/* ---- requests to this namespace's kernel ------------------------------------------------- */

static void test_requests(void)
{
	struct su_nl *nl = NULL;
	struct su_error err = { 0 };
	struct su_nl_route r;
	struct su_nl_neigh n;
	struct su_nl_link l;
	uint32_t lo = if_nametoindex("lo");
	uint8_t local[4], other[4];
	int answer = -1;

	inet_pton(AF_INET, "127.0.0.1", local);
	inet_pton(AF_INET, "127.0.0.2", other);
	CHECK(su_nl_open(&nl, &err) == 0, "a request socket opens (%s)", err.message);
	if (!nl)
		return;
	CHECK(su_nl_route_get(nl, AF_INET, local, &r, &err) == 0 && r.error == 0 && r.oif == lo &&
		      r.type == RTN_LOCAL && r.gw_family == AF_UNSPEC,
	      "127.0.0.1 is a local route through lo (oif %u, type %u, error %d)", r.oif, r.type, r.error);
	CHECK(su_nl_neigh_get(nl, AF_INET, lo, other, &n, &answer, &err) == 0 && answer == ENOENT,
	      "lo has no neighbour 127.0.0.2 (answer %d)", answer);
	CHECK(su_nl_link_get(nl, lo, &l, &answer, &err) == 0 && answer == 0 && l.ifindex == lo &&
		      (l.flags & IFF_LOOPBACK),
	      "lo's flags");
	CHECK(su_nl_link_get(nl, 0x7ffffff0, &l, &answer, &err) == 0 && answer == ENODEV,
	      "no interface 0x7ffffff0 (answer %d)", answer);
	CHECK(su_nl_route_get(nl, AF_PACKET, local, &r, &err) < 0 &&
		      strcmp(err.code, "ERR_INVALID_OPTION") == 0,
	      "a family other than IPv4 and IPv6 is refused");
	su_nl_close(nl);
}

/* ---- the follower ------------------------------------------------------------------------- */

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static int seen_link_up, seen_route, seen_other_link;

static void deliver(void *ctx, const struct su_nl_event *events, uint32_t n)
{
	uint32_t lo = *(const uint32_t *)ctx;

	pthread_mutex_lock(&seen_lock);
	for (uint32_t i = 0; i < n; i++) {
		if (events[i].kind == SU_NL_EVENT_LINK && events[i].link.ifindex != lo)
			seen_other_link = 1;
		if (events[i].kind == SU_NL_EVENT_LINK && (events[i].link.flags & IFF_UP))
			seen_link_up = 1;
		if (events[i].kind == SU_NL_EVENT_ROUTE)
			seen_route = 1;
	}
	pthread_mutex_unlock(&seen_lock);
}

static int set_up(const char *ifname)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = -1;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		ret = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

static void test_follower(void)
{
	struct su_nl_follower *f = NULL;
	struct su_error err = { 0 };
	uint32_t lo;
	int i, up = 0, route = 0, other = 1;

	/* A namespace of our own, where lo starts down: root may unshare it directly, anyone else
	 * through a user namespace. */
	CHECK(unshare(CLONE_NEWNET) == 0 || unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0,
	      "a network namespace of our own (%s)", strerror(errno));
	lo = if_nametoindex("lo");
	CHECK(su_nl_follower_start(lo, deliver, &lo, &f, &err) == 0, "the follower starts (%s)",
	      err.message);
	CHECK(set_up("lo") == 0, "lo comes up (%s)", strerror(errno));
	for (i = 0; i < 200 && !(up && route); i++) {
		struct timespec ms10 = { .tv_nsec = 10000000 };

		nanosleep(&ms10, NULL);
		pthread_mutex_lock(&seen_lock);
		up = seen_link_up;
		route = seen_route;
		other = seen_other_link;
		pthread_mutex_unlock(&seen_lock);
	}
	CHECK(up, "lo coming up reached the follower as a link change");
	CHECK(route, "lo's local routes reached it as a route change");
	CHECK(!other, "link changes of other interfaces were left out");
	su_nl_follower_stop(f);
	su_nl_follower_stop(NULL);
}

int main(void)
{
	test_neighbours();
	test_malformed();
	test_links_and_routes();
	test_route_answers();
	test_requests();
	test_follower();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
