/* Reads rtnetlink messages: neighbour, link, route and nexthop notifications into su_nl_event
 * records, and route answers into su_nl_route. Pure (no sockets), so that
 * native/test/netlink_test.c feeds it crafted messages. Used by follow.c and request.c. */
#include <errno.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

#include "internal.h"

/* Attribute types carry flag bits on top (NLA_F_NESTED, NLA_F_NET_BYTEORDER). */
static unsigned int attr_type(const struct rtattr *rta)
{
	return rta->rta_type & NLA_TYPE_MASK;
}

size_t su_nl_key_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

/* The attributes after a fixed header of `hdr` bytes: their start and length, or -EBADMSG if
 * the message is shorter than its header. */
static int attrs_of(const struct nlmsghdr *nlh, size_t len, size_t hdr, const struct rtattr **rta,
		    int *rta_len)
{
	if (len < NLMSG_LENGTH(hdr) || nlh->nlmsg_len < NLMSG_LENGTH(hdr) || nlh->nlmsg_len > len)
		return -EBADMSG;
	*rta = (const struct rtattr *)((const char *)NLMSG_DATA(nlh) + NLMSG_ALIGN(hdr));
	*rta_len = (int)nlh->nlmsg_len - (int)NLMSG_LENGTH(NLMSG_ALIGN(hdr));
	if (*rta_len < 0)
		*rta_len = 0;
	return 0;
}

static int parse_neigh(const struct nlmsghdr *nlh, size_t len, struct su_nl_neigh *out)
{
	const struct ndmsg *ndm = NLMSG_DATA(nlh);
	const struct rtattr *rta;
	size_t key_len;
	int rta_len, have_dst = 0;

	if (attrs_of(nlh, len, sizeof(*ndm), &rta, &rta_len))
		return -EBADMSG;
	key_len = su_nl_key_len(ndm->ndm_family);
	/* Bridge FDB entries share these message types; proxy entries have no MAC to follow. */
	if (key_len == 0 || (ndm->ndm_flags & NTF_PROXY))
		return 0;
	memset(out, 0, sizeof(*out));
	out->family = ndm->ndm_family;
	out->deleted = nlh->nlmsg_type == RTM_DELNEIGH;
	out->state = ndm->ndm_state;
	out->flags = ndm->ndm_flags;
	out->ifindex = (uint32_t)ndm->ndm_ifindex;
	for (; RTA_OK(rta, rta_len); rta = RTA_NEXT(rta, rta_len)) {
		size_t n = RTA_PAYLOAD(rta);

		switch (attr_type(rta)) {
		case NDA_DST:
			if (n != key_len)
				return -EBADMSG;
			memcpy(out->addr, RTA_DATA(rta), n);
			have_dst = 1;
			break;
		case NDA_LLADDR:
			if (n == 0 || n > SU_NL_LLADDR_MAX)
				return -EBADMSG;
			memcpy(out->lladdr, RTA_DATA(rta), n);
			out->lladdr_len = (uint8_t)n;
			break;
		}
	}
	return have_dst ? 1 : -EBADMSG;
}

static int parse_link(const struct nlmsghdr *nlh, size_t len, struct su_nl_link *out)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nlh);
	const struct rtattr *rta;
	int rta_len;

	if (attrs_of(nlh, len, sizeof(*ifi), &rta, &rta_len))
		return -EBADMSG;
	memset(out, 0, sizeof(*out));
	out->ifindex = (uint32_t)ifi->ifi_index;
	out->flags = ifi->ifi_flags;
	out->deleted = nlh->nlmsg_type == RTM_DELLINK;
	return 1;
}

int su_nl_parse_event(const void *msg, size_t len, struct su_nl_event *out)
{
	const struct nlmsghdr *nlh = msg;
	int ret;

	if (len < sizeof(*nlh) || nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > len)
		return -EBADMSG;
	memset(out, 0, sizeof(*out));
	switch (nlh->nlmsg_type) {
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		ret = parse_neigh(nlh, len, &out->neigh);
		out->kind = SU_NL_EVENT_NEIGH;
		return ret;
	case RTM_NEWLINK:
	case RTM_DELLINK:
		ret = parse_link(nlh, len, &out->link);
		out->kind = SU_NL_EVENT_LINK;
		return ret;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
	case RTM_NEWNEXTHOP:
	case RTM_DELNEXTHOP:
		/* Which route changed does not matter: the lookups that matter are redone. */
		out->kind = SU_NL_EVENT_ROUTE;
		return 1;
	default:
		return 0;
	}
}

/* RTA_VIA: a gateway of another family than the route (struct rtvia: family, then address). */
static int parse_via(const struct rtattr *rta, struct su_nl_route *out)
{
	const struct rtvia *via = RTA_DATA(rta);
	size_t n = RTA_PAYLOAD(rta), key_len;

	if (n < sizeof(*via))
		return -EBADMSG;
	key_len = su_nl_key_len(via->rtvia_family);
	if (key_len == 0 || n - sizeof(*via) < key_len)
		return -EBADMSG;
	out->gw_family = (uint8_t)via->rtvia_family;
	memcpy(out->gateway, via->rtvia_addr, key_len);
	return 0;
}

int su_nl_parse_route(const void *msg, size_t len, struct su_nl_route *out)
{
	const struct nlmsghdr *nlh = msg;
	const struct rtmsg *rtm;
	const struct rtattr *rta;
	int rta_len;

	if (len < sizeof(*nlh) || nlh->nlmsg_type != RTM_NEWROUTE)
		return -EBADMSG;
	if (attrs_of(nlh, len, sizeof(*rtm), &rta, &rta_len))
		return -EBADMSG;
	rtm = NLMSG_DATA(nlh);
	out->type = rtm->rtm_type;
	out->gw_family = AF_UNSPEC;
	out->oif = 0;
	for (; RTA_OK(rta, rta_len); rta = RTA_NEXT(rta, rta_len)) {
		size_t n = RTA_PAYLOAD(rta);

		switch (attr_type(rta)) {
		case RTA_OIF:
			if (n != sizeof(uint32_t))
				return -EBADMSG;
			memcpy(&out->oif, RTA_DATA(rta), sizeof(uint32_t));
			break;
		case RTA_GATEWAY:
			if (n != su_nl_key_len(rtm->rtm_family))
				return -EBADMSG;
			out->gw_family = rtm->rtm_family;
			memcpy(out->gateway, RTA_DATA(rta), n);
			break;
		case RTA_VIA:
			if (parse_via(rta, out))
				return -EBADMSG;
			break;
		}
	}
	return 0;
}
