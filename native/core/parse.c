/* See parse.h. Field offsets are those of RFC 791 (IPv4), RFC 8200 (IPv6), RFC 9293 (TCP),
 * RFC 768 (UDP) and IEEE 802.1Q; everything is read byte-wise, so no alignment is assumed. */
#include "parse.h"

#include <netinet/in.h>
#include <string.h>

#define SU_ETH_P_IPV4 0x0800
#define SU_ETH_P_IPV6 0x86dd
#define SU_ETH_P_8021Q 0x8100
#define SU_ETH_P_8021AD 0x88a8

/* IPv4 flags/fragment offset word: MF and the 13-bit offset (RFC 791 3.1). */
#define SU_IPV4_MF 0x2000
#define SU_IPV4_OFFSET 0x1fff
/* IPv6 fragment header's offset/flags word: 13-bit offset, M flag (RFC 8200 4.5). */
#define SU_IPV6_FRAG_OFFSET 0xfff8
#define SU_IPV6_FRAG_M 0x0001

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* ICMP error types that quote the packet they are about (RFC 792; RFC 4443 2.4 and 3). */
#define SU_ICMP_DEST_UNREACH 3
#define SU_ICMP_TIME_EXCEEDED 11
#define SU_ICMP_PARAMETER_PROBLEM 12
#define SU_ICMPV6_ERROR_FIRST 1 /* destination unreachable, packet too big, time exceeded, */
#define SU_ICMPV6_ERROR_LAST 4  /* parameter problem */
#define SU_ICMP_HLEN 8

static int is_icmp_error(uint8_t family, uint8_t type)
{
	if (family == SU_FAMILY_IPV4)
		return type == SU_ICMP_DEST_UNREACH || type == SU_ICMP_TIME_EXCEEDED ||
		       type == SU_ICMP_PARAMETER_PROBLEM;
	return type >= SU_ICMPV6_ERROR_FIRST && type <= SU_ICMPV6_ERROR_LAST;
}

/* An ICMP error about a packet this address sent, in [icmp, icmp + len): the quoted packet's
 * source must be the error's destination (our shared address), and its source port picks the
 * slice exactly as a reply's destination port would; Katran and GLB steer errors by the same
 * reversed tuple (FACTS.md "ICMP and fragments"). RFC 792 guarantees the quoted IP header and 8
 * bytes after it; we read 4. Quoted IPv6 extension headers are not walked (as bpf/parse.h). */
static enum su_route_counter parse_icmp_error(const uint8_t *icmp, uint32_t len, struct su_ip *out)
{
	const uint8_t *q = icmp + SU_ICMP_HLEN;
	uint32_t avail, hlen;
	uint8_t protocol;

	if (len < SU_ICMP_HLEN || !is_icmp_error(out->family, icmp[0]))
		return SU_ROUTE_drop_malformed;
	avail = len - SU_ICMP_HLEN;
	if (out->family == SU_FAMILY_IPV4) {
		if (avail < SU_IPV4_HLEN || q[0] >> 4 != 4 || memcmp(q + 12, out->daddr, 4) != 0)
			return SU_ROUTE_drop_malformed;
		hlen = (uint32_t)(q[0] & 0x0f) * 4;
		/* A quoted non-first fragment carries no ports. */
		if (hlen < SU_IPV4_HLEN || (get16(q + 6) & SU_IPV4_OFFSET))
			return SU_ROUTE_drop_malformed;
		protocol = q[9];
	} else {
		if (avail < SU_IPV6_HLEN || q[0] >> 4 != 6 || memcmp(q + 8, out->daddr, 16) != 0)
			return SU_ROUTE_drop_malformed;
		hlen = SU_IPV6_HLEN;
		protocol = q[6];
	}
	if (avail < hlen + 4 || (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP))
		return SU_ROUTE_drop_malformed;
	out->protocol = protocol;
	out->l4 = icmp;
	out->l4_len = len;
	out->sport = get16(q + hlen + 2);
	out->dport = get16(q + hlen);
	out->icmp_error = 1;
	return SU_PARSE_OK;
}

/* The ports, from a transport header that must lie wholly in [l4, l4 + len). */
static enum su_route_counter parse_l4(const uint8_t *l4, uint32_t len, uint8_t protocol,
				      struct su_ip *out)
{
	out->icmp_error = 0;
	if (out->fragment == SU_FRAGMENT_LATER) {
		/* No transport header here: the ports are in the first fragment. */
		if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)
			return SU_ROUTE_drop_malformed;
		out->protocol = protocol;
		out->l4 = l4;
		out->l4_len = len;
		out->sport = 0;
		out->dport = 0;
		return SU_PARSE_OK;
	}
	if ((protocol == IPPROTO_ICMP && out->family == SU_FAMILY_IPV4) ||
	    (protocol == IPPROTO_ICMPV6 && out->family == SU_FAMILY_IPV6))
		return parse_icmp_error(l4, len, out);
	if (protocol == IPPROTO_TCP) {
		if (len < SU_TCP_HLEN)
			return SU_ROUTE_drop_malformed;
	} else if (protocol == IPPROTO_UDP) {
		if (len < SU_UDP_HLEN)
			return SU_ROUTE_drop_malformed;
	} else {
		return SU_ROUTE_drop_malformed;
	}
	out->protocol = protocol;
	out->l4 = l4;
	out->l4_len = len;
	out->sport = get16(l4);
	out->dport = get16(l4 + 2);
	return SU_PARSE_OK;
}

static enum su_route_counter parse_ipv4(const uint8_t *p, uint32_t avail, struct su_ip *out)
{
	uint32_t ihl, total;
	uint16_t frag;

	if (avail < SU_IPV4_HLEN || p[0] >> 4 != 4)
		return SU_ROUTE_drop_malformed;
	ihl = (uint32_t)(p[0] & 0x0f) * 4;
	total = get16(p + 2);
	/* Options are allowed (IHL > 5); the datagram must hold its header and fit in the frame. */
	if (ihl < SU_IPV4_HLEN || total < ihl || total > avail)
		return SU_ROUTE_drop_malformed;
	frag = get16(p + 6);
	out->fragment = !(frag & (SU_IPV4_MF | SU_IPV4_OFFSET)) ? SU_FRAGMENT_NONE :
			(frag & SU_IPV4_OFFSET) ? SU_FRAGMENT_LATER : SU_FRAGMENT_FIRST;
	out->frag_id = get16(p + 4);
	out->family = SU_FAMILY_IPV4;
	out->ip = p;
	out->ip_len = total;
	out->saddr = p + 12;
	out->daddr = p + 16;
	return parse_l4(p + ihl, total - ihl, p[9], out);
}

static enum su_route_counter parse_ipv6(const uint8_t *p, uint32_t avail, struct su_ip *out)
{
	uint32_t total, off;
	uint8_t next;

	if (avail < SU_IPV6_HLEN || p[0] >> 4 != 6)
		return SU_ROUTE_drop_malformed;
	/* A payload length of 0 announces a jumbogram (RFC 2675), which no Ethernet carries. */
	total = SU_IPV6_HLEN + get16(p + 4);
	if (total == SU_IPV6_HLEN || total > avail)
		return SU_ROUTE_drop_malformed;
	out->family = SU_FAMILY_IPV6;
	out->fragment = SU_FRAGMENT_NONE;
	out->frag_id = 0;
	out->ip = p;
	out->ip_len = total;
	out->saddr = p + 8;
	out->daddr = p + 24;

	next = p[6];
	off = SU_IPV6_HLEN;
	for (int i = 0; i < SU_IPV6_EXT_MAX; i++) {
		if (next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING || next == IPPROTO_DSTOPTS) {
			if (total - off < 8)
				return SU_ROUTE_drop_malformed;
			/* Hdr Ext Len counts 8-octet units after the first 8 (RFC 8200 4.3-4.6). */
			next = p[off];
			off += ((uint32_t)p[off + 1] + 1) * 8;
			if (off > total)
				return SU_ROUTE_drop_malformed;
		} else if (next == IPPROTO_FRAGMENT) {
			uint16_t frag;

			if (total - off < 8)
				return SU_ROUTE_drop_malformed;
			frag = get16(p + off + 2);
			/* An atomic fragment (offset 0, M clear) is a whole packet that a fragment
			 * header happens to precede, to be processed as unfragmented (RFC 6946 4);
			 * anything else is a piece of a larger one. */
			if (frag & SU_IPV6_FRAG_OFFSET)
				out->fragment = SU_FRAGMENT_LATER;
			else if (frag & SU_IPV6_FRAG_M)
				out->fragment = SU_FRAGMENT_FIRST;
			out->frag_id = (uint32_t)get16(p + off + 4) << 16 | get16(p + off + 6);
			next = p[off];
			off += 8;
			/* What follows a later piece's fragment header is payload, not headers. */
			if (out->fragment == SU_FRAGMENT_LATER)
				break;
		} else {
			break;
		}
	}
	/* A chain still going after the bound leaves an extension header in `next`, which
	 * parse_l4 refuses as it refuses any other protocol. */
	return parse_l4(p + off, total - off, next, out);
}

enum su_route_counter su_parse_ip(const uint8_t *p, uint32_t avail, uint8_t family,
				  struct su_ip *out)
{
	if (family == SU_FAMILY_IPV4)
		return parse_ipv4(p, avail, out);
	if (family == SU_FAMILY_IPV6)
		return parse_ipv6(p, avail, out);
	return SU_ROUTE_drop_malformed;
}

enum su_route_counter su_parse_frame(const uint8_t *frame, uint32_t len, uint32_t *l2_len,
				     struct su_ip *out)
{
	if (su_parse_ipv4_fast(frame, len, out) || su_parse_ipv6_fast(frame, len, out)) {
		*l2_len = SU_ETH_HLEN;
		return SU_PARSE_OK;
	}
	return su_parse_frame_full(frame, len, l2_len, out);
}

enum su_route_counter su_parse_frame_full(const uint8_t *frame, uint32_t len, uint32_t *l2_len,
					  struct su_ip *out)
{
	uint32_t off = SU_ETH_HLEN;
	uint16_t type;

	if (len < SU_ETH_HLEN)
		return SU_ROUTE_drop_malformed;
	type = get16(frame + 12);
	for (int i = 0; i < SU_VLAN_TAGS_MAX; i++) {
		if (type != SU_ETH_P_8021Q && type != SU_ETH_P_8021AD)
			break;
		/* A tag is TCI (2 bytes) then the encapsulated EtherType (2 bytes). */
		if (len - off < 4)
			return SU_ROUTE_drop_malformed;
		type = get16(frame + off + 2);
		off += 4;
	}
	*l2_len = off;
	if (type == SU_ETH_P_IPV4)
		return parse_ipv4(frame + off, len - off, out);
	if (type == SU_ETH_P_IPV6)
		return parse_ipv6(frame + off, len - off, out);
	return SU_ROUTE_drop_malformed;
}
