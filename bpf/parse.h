/* Bounded packet parsing for the XDP program (bpf/steer.bpf.c): Ethernet, up to two VLAN tags,
 * IPv4 or IPv6 with extension headers, then the TCP or UDP destination port. */
#ifndef SU_BPF_PARSE_H
#define SU_BPF_PARSE_H

#include <linux/types.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <softunicast/abi.h>

/* 802.1ad outer tag + 802.1Q inner tag (QinQ) is the deepest stacking we accept. */
#define SU_VLAN_TAGS_MAX 2
/* Enough for any sane chain (RFC 8200 4.1 lists at most one of each, destination options twice);
 * the bound keeps the verifier's loop finite. */
#define SU_IPV6_EXT_MAX 8
/* Fragment offset bits of frag_off: IPv4 (RFC 791), IPv6 fragment header (RFC 8200 4.5). The uapi
 * headers name neither. */
#define SU_IP4_FRAG_OFFSET 0x1fff
#define SU_IP6_FRAG_OFFSET 0xfff8

/* Neither tag nor fragment header layout is in the uapi headers (the kernel's are internal). */
struct su_vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

struct su_frag6_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 identification;
};

struct su_pkt {
	__u8 family;    /* SU_FAMILY_IPV4 or SU_FAMILY_IPV6 */
	__u8 proto;     /* SU_PROTO_TCP or SU_PROTO_UDP: a bit, to test against a rule's set */
	__u16 dport;    /* host byte order, like the rules' port ranges */
	__u8 daddr[16]; /* network byte order; IPv4 in the first 4 bytes, the rest zero */
};

/* Each step returns the start of the next header, or NULL when the packet is not one we parse.
 * The returned pointer may lie beyond data_end; the next step checks before reading. */

static __always_inline void *su_parse_ipv4(struct iphdr *ip, void *data_end, struct su_pkt *pkt,
					   __u8 *l4proto)
{
	if ((void *)(ip + 1) > data_end || ip->version != 4 || ip->ihl < 5)
		return NULL;
	/* Only the first fragment carries the L4 header. */
	if (ip->frag_off & bpf_htons(SU_IP4_FRAG_OFFSET))
		return NULL;
	pkt->family = SU_FAMILY_IPV4;
	__builtin_memcpy(pkt->daddr, &ip->daddr, sizeof(ip->daddr));
	*l4proto = ip->protocol;
	return (void *)ip + ip->ihl * 4;
}

static __always_inline void *su_parse_ipv6(struct ipv6hdr *ip6, void *data_end,
					   struct su_pkt *pkt, __u8 *l4proto)
{
	if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
		return NULL;
	pkt->family = SU_FAMILY_IPV6;
	__builtin_memcpy(pkt->daddr, &ip6->daddr, sizeof(ip6->daddr));

	__u8 next = ip6->nexthdr;
	void *cur = ip6 + 1;
	/* A chain still going after the bound ends with an extension header in `next`, which the
	 * L4 step rejects. */
	for (int i = 0; i < SU_IPV6_EXT_MAX; i++) {
		if (next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING || next == IPPROTO_DSTOPTS) {
			struct ipv6_opt_hdr *opt = cur;

			if ((void *)(opt + 1) > data_end)
				return NULL;
			next = opt->nexthdr;
			/* hdrlen counts 8-octet units after the first 8 (RFC 8200 4.3-4.6). */
			cur += (opt->hdrlen + 1) * 8;
		} else if (next == IPPROTO_FRAGMENT) {
			struct su_frag6_hdr *frag = cur;

			if ((void *)(frag + 1) > data_end ||
			    frag->frag_off & bpf_htons(SU_IP6_FRAG_OFFSET))
				return NULL;
			next = frag->nexthdr;
			cur = frag + 1;
		} else {
			break;
		}
	}
	*l4proto = next;
	return cur;
}

static __always_inline int su_parse_l4(void *cur, void *data_end, __u8 l4proto,
				       struct su_pkt *pkt)
{
	if (l4proto == IPPROTO_TCP) {
		struct tcphdr *tcp = cur;

		if ((void *)(tcp + 1) > data_end)
			return -1;
		pkt->proto = SU_PROTO_TCP;
		pkt->dport = bpf_ntohs(tcp->dest);
		return 0;
	}
	if (l4proto == IPPROTO_UDP) {
		struct udphdr *udp = cur;

		if ((void *)(udp + 1) > data_end)
			return -1;
		pkt->proto = SU_PROTO_UDP;
		pkt->dport = bpf_ntohs(udp->dest);
		return 0;
	}
	return -1;
}

/* Returns 0 and fills *pkt when the frame is IPv4 or IPv6 with a whole TCP or UDP header (the
 * fixed part: all we read is the port); -1 for anything else. */
static __always_inline int su_parse(void *data, void *data_end, struct su_pkt *pkt)
{
	struct ethhdr *eth = data;
	void *cur = eth + 1;
	__u8 l4proto;

	__builtin_memset(pkt, 0, sizeof(*pkt));
	if (cur > data_end)
		return -1;

	__be16 proto = eth->h_proto;
	for (int i = 0; i < SU_VLAN_TAGS_MAX; i++) {
		struct su_vlan_hdr *vlan = cur;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vlan + 1) > data_end)
			return -1;
		proto = vlan->encap_proto;
		cur = vlan + 1;
	}

	if (proto == bpf_htons(ETH_P_IP))
		cur = su_parse_ipv4(cur, data_end, pkt, &l4proto);
	else if (proto == bpf_htons(ETH_P_IPV6))
		cur = su_parse_ipv6(cur, data_end, pkt, &l4proto);
	else
		return -1;
	if (!cur)
		return -1;
	return su_parse_l4(cur, data_end, l4proto, pkt);
}

#endif /* SU_BPF_PARSE_H */
