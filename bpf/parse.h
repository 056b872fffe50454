/* Bounded packet parsing for the XDP program (bpf/steer.bpf.c, bpf/gue.h): Ethernet, up to two
 * VLAN tags, IPv4 or IPv6 with extension headers, then the TCP or UDP destination port, or for an
 * ICMP error the source port of the packet it quotes. As native/core/parse.c. */
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
/* Fragment offset bits of frag_off: IPv4 (RFC 791), IPv6 fragment header (RFC 8200 4.5), and
 * IPv4's "more fragments" flag. The uapi headers name none of them. */
#define SU_IP4_FRAG_OFFSET 0x1fff
#define SU_IP4_MORE_FRAGMENTS 0x2000
#define SU_IP6_FRAG_OFFSET 0xfff8
/* The parser's offsets stay below 22 + 40 + 8 * 2048 (tags, IPv6, extension headers). Code that
 * turns a stored offset back into a pointer first bounds it by this: the verifier grants no range
 * to a packet pointer that might lie beyond MAX_PACKET_OFF (0xffff), offset and access included. */
#define SU_PARSE_OFF_MAX 0x7fff

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

/* Facts about a packet's headers that make it unfit to be unwrapped as GUE (bpf/gue.h). */
#define SU_PKT_FRAGMENT (1u << 0) /* the first fragment of a larger packet */
#define SU_PKT_ROUTED (1u << 1)   /* IPv6 routing header: the final destination is elsewhere */
#define SU_PKT_ICMP_ERROR (1u << 2) /* an ICMP error: proto and dport are the quoted packet's */
#define SU_PKT_LATER_FRAGMENT (1u << 3) /* a later piece: no ports (dport 0), frag_id set */

/* ICMP error types that quote the packet they are about (RFC 792, RFC 4443 2.4 and 3). */
#define SU_ICMP_DEST_UNREACH 3
#define SU_ICMP_TIME_EXCEEDED 11
#define SU_ICMP_PARAMETER_PROBLEM 12
#define SU_ICMPV6_ERROR_FIRST 1 /* destination unreachable, packet too big, time exceeded, */
#define SU_ICMPV6_ERROR_LAST 4  /* parameter problem */
#define SU_ICMP_HLEN 8

struct su_pkt {
	__u8 family;    /* SU_FAMILY_IPV4 or SU_FAMILY_IPV6 */
	__u8 proto;     /* SU_PROTO_TCP or SU_PROTO_UDP: a bit, to test against a rule's set */
	__u16 dport;    /* host byte order, like the rules' port ranges; for an ICMP error the
			 * quoted packet's source port, which is ours */
	__u8 daddr[16]; /* network byte order; IPv4 in the first 4 bytes, the rest zero */
	__u8 saddr[16]; /* likewise */
	/* Offsets from the frame's first byte, as numbers: a packet pointer loses its verified
	 * bounds across a global function call or a helper that moves the packet; an offset is
	 * turned back into a pointer and checked again. */
	__u16 l3_off;
	__u16 l4_off;
	__u8 flags; /* SU_PKT_* */
	__u8 pad0[3];
	__u32 frag_id; /* of a fragment (first or later): IPv4 identification, IPv6 fragment id */
};

/* Each step returns the start of the next header, or NULL when the packet is not one we parse.
 * The returned pointer may lie beyond data_end; the next step checks before reading. */

/* `*len` receives the length of the IP header, IPv6 extension headers included. */
static __always_inline void *su_parse_ipv4(struct iphdr *ip, void *data_end, struct su_pkt *pkt,
					   __u8 *l4proto, __u32 *len)
{
	if ((void *)(ip + 1) > data_end || ip->version != 4 || ip->ihl < 5)
		return NULL;
	/* Only the first fragment carries the L4 header; later ones follow it (su_parse). */
	if (ip->frag_off & bpf_htons(SU_IP4_FRAG_OFFSET))
		pkt->flags |= SU_PKT_LATER_FRAGMENT;
	else if (ip->frag_off & bpf_htons(SU_IP4_MORE_FRAGMENTS))
		pkt->flags |= SU_PKT_FRAGMENT;
	pkt->frag_id = bpf_ntohs(ip->id);
	pkt->family = SU_FAMILY_IPV4;
	__builtin_memcpy(pkt->daddr, &ip->daddr, sizeof(ip->daddr));
	__builtin_memcpy(pkt->saddr, &ip->saddr, sizeof(ip->saddr));
	*l4proto = ip->protocol;
	*len = ip->ihl * 4;
	return (void *)ip + ip->ihl * 4;
}

static __always_inline void *su_parse_ipv6(struct ipv6hdr *ip6, void *data_end,
					   struct su_pkt *pkt, __u8 *l4proto, __u32 *len)
{
	if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
		return NULL;
	pkt->family = SU_FAMILY_IPV6;
	__builtin_memcpy(pkt->daddr, &ip6->daddr, sizeof(ip6->daddr));
	__builtin_memcpy(pkt->saddr, &ip6->saddr, sizeof(ip6->saddr));

	__u8 next = ip6->nexthdr;
	void *cur = ip6 + 1;
	__u32 total = sizeof(*ip6);
	/* A chain still going after the bound ends with an extension header in `next`, which the
	 * L4 step rejects. */
	for (int i = 0; i < SU_IPV6_EXT_MAX; i++) {
		if (next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING || next == IPPROTO_DSTOPTS) {
			struct ipv6_opt_hdr *opt = cur;

			if ((void *)(opt + 1) > data_end)
				return NULL;
			if (next == IPPROTO_ROUTING)
				pkt->flags |= SU_PKT_ROUTED;
			next = opt->nexthdr;
			/* hdrlen counts 8-octet units after the first 8 (RFC 8200 4.3-4.6). */
			cur += (opt->hdrlen + 1) * 8;
			total += (opt->hdrlen + 1) * 8;
		} else if (next == IPPROTO_FRAGMENT) {
			struct su_frag6_hdr *frag = cur;

			if ((void *)(frag + 1) > data_end)
				return NULL;
			pkt->frag_id = bpf_ntohl(frag->identification);
			next = frag->nexthdr;
			cur = frag + 1;
			total += sizeof(*frag);
			/* After a later piece's fragment header comes payload, not headers. An
			 * atomic fragment (M clear, RFC 6946) counts as a first one: one branch less
			 * for the verifier, and remembering it costs nothing. */
			if (frag->frag_off & bpf_htons(SU_IP6_FRAG_OFFSET)) {
				pkt->flags |= SU_PKT_LATER_FRAGMENT;
				break;
			}
			pkt->flags |= SU_PKT_FRAGMENT;
		} else {
			break;
		}
	}
	*l4proto = next;
	*len = total;
	return cur;
}

/* An ICMP error about a packet this address sent: the quoted packet's source must be the error's
 * destination (our shared address), and its source port is what picks the slice, exactly as the
 * destination port of a reply would. Katran and GLB steer errors by the same reversed tuple
 * (FACTS.md "ICMP and fragments"). Reads the ICMP header, the quoted IP header and the quoted
 * ports (RFC 792 guarantees 8 bytes of them); quoted IPv6 extension headers are not walked. */
static __always_inline int su_parse_icmp_error(void *cur, void *data_end, struct su_pkt *pkt)
{
	__u8 *icmp = cur;
	__u8 *quoted = icmp + SU_ICMP_HLEN;
	__u8 protocol;
	__u16 *ports;

	if ((void *)quoted > data_end)
		return -1;
	if (pkt->family == SU_FAMILY_IPV4) {
		struct iphdr *ip = (struct iphdr *)quoted;

		if (icmp[0] != SU_ICMP_DEST_UNREACH && icmp[0] != SU_ICMP_TIME_EXCEEDED &&
		    icmp[0] != SU_ICMP_PARAMETER_PROBLEM)
			return -1;
		if ((void *)(ip + 1) > data_end || ip->version != 4 || ip->ihl < 5 ||
		    ip->saddr != *(const __u32 *)pkt->daddr ||
		    ip->frag_off & bpf_htons(SU_IP4_FRAG_OFFSET))
			return -1;
		protocol = ip->protocol;
		ports = (void *)ip + ip->ihl * 4;
	} else {
		struct ipv6hdr *ip6 = (struct ipv6hdr *)quoted;
		const __u32 *src, *own = (const __u32 *)pkt->daddr;

		if (icmp[0] < SU_ICMPV6_ERROR_FIRST || icmp[0] > SU_ICMPV6_ERROR_LAST)
			return -1;
		if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
			return -1;
		src = (const __u32 *)&ip6->saddr;
		if ((src[0] ^ own[0]) | (src[1] ^ own[1]) | (src[2] ^ own[2]) | (src[3] ^ own[3]))
			return -1;
		protocol = ip6->nexthdr;
		ports = (void *)(ip6 + 1);
	}
	if ((void *)(ports + 2) > data_end)
		return -1;
	if (protocol == IPPROTO_TCP)
		pkt->proto = SU_PROTO_TCP;
	else if (protocol == IPPROTO_UDP)
		pkt->proto = SU_PROTO_UDP;
	else
		return -1;
	pkt->dport = bpf_ntohs(ports[0]);
	pkt->flags |= SU_PKT_ICMP_ERROR;
	return 0;
}

static __always_inline int su_parse_l4(void *cur, void *data_end, __u8 l4proto,
				       struct su_pkt *pkt)
{
	/* A later fragment has no transport header: its protocol, and the first piece's ports. */
	if (pkt->flags & SU_PKT_LATER_FRAGMENT) {
		if (l4proto == IPPROTO_TCP)
			pkt->proto = SU_PROTO_TCP;
		else if (l4proto == IPPROTO_UDP)
			pkt->proto = SU_PROTO_UDP;
		else
			return -1;
		return 0;
	}
	if ((l4proto == IPPROTO_ICMP && pkt->family == SU_FAMILY_IPV4) ||
	    (l4proto == IPPROTO_ICMPV6 && pkt->family == SU_FAMILY_IPV6))
		return su_parse_icmp_error(cur, data_end, pkt);
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
 * fixed part: all we read is the port), an ICMP error quoting TCP or UDP from the destination
 * address, or a later fragment of TCP or UDP (SU_PKT_LATER_FRAGMENT, dport 0); -1 for anything
 * else. */
static __always_inline int su_parse(void *data, void *data_end, struct su_pkt *pkt)
{
	struct ethhdr *eth = data;
	void *cur = eth + 1;
	__u32 off = sizeof(*eth);
	__u32 l3_len;
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
		off += sizeof(*vlan);
	}

	pkt->l3_off = off;
	if (proto == bpf_htons(ETH_P_IP))
		cur = su_parse_ipv4(cur, data_end, pkt, &l4proto, &l3_len);
	else if (proto == bpf_htons(ETH_P_IPV6))
		cur = su_parse_ipv6(cur, data_end, pkt, &l4proto, &l3_len);
	else
		return -1;
	if (!cur)
		return -1;
	pkt->l4_off = off + l3_len; /* below SU_PARSE_OFF_MAX */
	return su_parse_l4(cur, data_end, l4proto, pkt);
}

#endif /* SU_BPF_PARSE_H */
