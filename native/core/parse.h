/* Packet parsing for the one core (both targets: native/core/target.h): Ethernet with up to two
 * VLAN tags, IPv4 with options, IPv6 with extension headers, then the TCP or UDP ports, or those
 * an ICMP error quotes, or a fragment's identity. Every header is checked to lie inside the
 * frame and inside the IP datagram before it is read; loops are bounded by header counts.
 * Results are offsets and copies, not pointers: the XDP program runs each stage as a function of
 * its own, and packet pointers do not survive the call. Used by route.h, gue.h. */
#ifndef SU_CORE_PARSE_H
#define SU_CORE_PARSE_H

#include "target.h"
#include "ip.h"

/* 802.1ad outer tag + 802.1Q inner tag (QinQ) is the deepest stacking we accept. */
#define SU_VLAN_TAGS_MAX 2
/* Extension headers walked before giving up: RFC 8200 4.1 lists at most one of each,
 * destination options twice. A longer chain to a managed address is dropped, counted. */
#define SU_IPV6_EXT_MAX 8


/* The minimum length of a `protocol` header at the start of an IP payload. */
SU_INLINE uint32_t su_l4_min(uint8_t protocol)
{
	if (protocol == SU_IPPROTO_UDP)
		return SU_UDP_HLEN;
	return protocol == SU_IPPROTO_TCP ? SU_TCP_HLEN : 0x10000;
}

SU_INLINE void su_copy_addrs(struct su_ip *out, const uint8_t *saddr, const uint8_t *daddr,
			     uint32_t size)
{
	su_memset(out->saddr, 0, 32);
	if (size == 4) {
		su_memcpy(out->saddr, saddr, 4);
		su_memcpy(out->daddr, daddr, 4);
	} else {
		su_memcpy(out->saddr, saddr, 16);
		su_memcpy(out->daddr, daddr, 16);
	}
}

/* ICMP error types that quote the packet they are about (RFC 792; RFC 4443 2.4 and 3). */
SU_INLINE int su_is_icmp_error(uint8_t family, uint8_t type)
{
	if (family == SU_FAMILY_IPV4)
		return type == 3 || type == 11 || type == 12;
	return type >= 1 && type <= 4;
}

/* An ICMP error at `icmp` (`len` bytes to the end of the datagram) about a packet this address
 * sent: the quoted packet's source must be the error's destination (our shared address), and
 * its source port picks the slice exactly as a reply's destination port would; Katran and GLB
 * steer errors by the same reversed tuple (FACTS.md "ICMP and fragments"). RFC 792 guarantees
 * the quoted IP header and 8 bytes after it; we read 4. Quoted IPv6 extension headers are not
 * walked. SU_PARSE_OK, or pass_unparsed: any other ICMP is the kernel's. */
SU_INLINE enum su_route_counter su_parse_icmp_error(const struct su_buf *b, uint32_t icmp,
						    uint32_t len, struct su_ip *out)
{
	const uint8_t *t = su_at(b, icmp, SU_ICMP_HLEN), *q, *ports;
	uint32_t hlen;
	uint8_t protocol;

	if (!t || len < SU_ICMP_HLEN || !su_is_icmp_error(out->family, t[0]))
		return SU_ROUTE_pass_unparsed;
	if (out->family == SU_FAMILY_IPV4) {
		q = su_at(b, icmp + SU_ICMP_HLEN, SU_IPV4_HLEN);
		if (!q || q[0] >> 4 != 4 || su_load32(q + 12) != su_load32(out->daddr))
			return SU_ROUTE_pass_unparsed;
		hlen = (uint32_t)(q[0] & 0x0f) * 4;
		/* A quoted non-first fragment carries no ports. */
		if (hlen < SU_IPV4_HLEN || (su_get16(q + 6) & 0x1fff))
			return SU_ROUTE_pass_unparsed;
		protocol = q[9];
	} else {
		q = su_at(b, icmp + SU_ICMP_HLEN, SU_IPV6_HLEN);
		if (!q || q[0] >> 4 != 6 || su_load64(q + 8) != su_load64(out->daddr) ||
		    su_load64(q + 16) != su_load64(out->daddr + 8))
			return SU_ROUTE_pass_unparsed;
		hlen = SU_IPV6_HLEN;
		protocol = q[6];
	}
	ports = su_at(b, icmp + SU_ICMP_HLEN + hlen, 4);
	if (!ports || len < SU_ICMP_HLEN + hlen + 4 ||
	    (protocol != SU_IPPROTO_TCP && protocol != SU_IPPROTO_UDP))
		return SU_ROUTE_pass_unparsed;
	out->protocol = protocol;
	out->l4 = (uint16_t)icmp;
	out->l4_len = (uint16_t)len;
	out->sport = (uint16_t)su_get16(ports + 2);
	out->dport = (uint16_t)su_get16(ports);
	out->flags |= SU_IP_ICMP_ERROR;
	return SU_PARSE_OK;
}

/* The transport header at `l4` (`len` bytes to the end of the datagram), of `protocol`. */
SU_INLINE enum su_route_counter su_parse_l4(const struct su_buf *b, uint32_t l4, uint32_t len,
					    uint8_t protocol, struct su_ip *out)
{
	const uint8_t *p;

	out->l4 = (uint16_t)l4;
	out->l4_len = (uint16_t)len;
	/* TCP or UDP with its header, nearly every packet, first: neither of the cases below. */
	if (out->fragment != SU_FRAGMENT_LATER &&
	    (protocol == SU_IPPROTO_TCP || protocol == SU_IPPROTO_UDP)) {
		p = su_at(b, l4, SU_UDP_HLEN);
		if (!p || len < su_l4_min(protocol))
			return SU_ROUTE_drop_malformed;
		out->protocol = protocol;
		out->sport = (uint16_t)su_get16(p);
		out->dport = (uint16_t)su_get16(p + 2);
		return SU_PARSE_OK;
	}
	if (out->fragment == SU_FRAGMENT_LATER) {
		/* No transport header here: the ports are in the first fragment. */
		if (protocol != SU_IPPROTO_TCP && protocol != SU_IPPROTO_UDP)
			return SU_ROUTE_pass_unparsed;
		out->protocol = protocol;
		out->sport = out->dport = 0;
		return SU_PARSE_OK;
	}
	if ((protocol == SU_IPPROTO_ICMP && out->family == SU_FAMILY_IPV4) ||
	    (protocol == SU_IPPROTO_ICMPV6 && out->family == SU_FAMILY_IPV6))
		return su_parse_icmp_error(b, l4, len, out);
	return SU_ROUTE_pass_unparsed;
}

/* Whether IPv4 options `opt` (`len` bytes, at most 40) hold a loose or strict source route
 * (RFC 791 3.1: types 131 and 137), the kernel's cue to send the packet on: type-length-value
 * options but for no-operation (1), until end (0). Malformed options say no: the kernel drops
 * such a packet itself. Two bytes are read at each option: a lone no-operation as the last byte
 * of a frame ends the walk. */
SU_INLINE int su_ipv4_source_routed(const struct su_buf *b, uint32_t opt, uint32_t len)
{
	uint32_t i = 0;

	/* One way on through each step (no-operation or not, the step is a select, not a branch):
	 * the verifier walks 40 steps, not 2^40 ways through them. */
	for (int n = 0; n < 40 && i < len; n++) {
		const uint8_t *o = su_at(b, opt + i, 2);
		uint32_t step;

		if (!o || o[0] == 0)
			return 0;
		if (o[0] == 131 || o[0] == 137)
			return 1;
		step = o[0] == 1 ? 1u : o[1];
		if (step < 1)
			return 0;
		i += step;
	}
	return 0;
}

/* The IPv4 header `p` at `l3`, `ihl` bytes long (its IHL field, times 4), of `avail` bytes. */
SU_INLINE enum su_route_counter su_parse_ipv4_hl(const struct su_buf *b, uint32_t l3, uint32_t avail,
						 const uint8_t *p, uint32_t ihl, struct su_ip *out)
{
	uint32_t total = su_get16(p + 2), frag;

	out->family = SU_FAMILY_IPV4;
	out->l3 = (uint16_t)l3;
	out->flags = 0;
	su_copy_addrs(out, p + 12, p + 16, 4);
	/* Options are allowed (IHL > 5); the datagram must hold its header and fit in the frame.
	 * The addresses are read: a lie about lengths to a managed address is dropped, not passed. */
	if (ihl < SU_IPV4_HLEN || total < ihl || total > avail)
		return SU_ROUTE_drop_malformed;
	frag = su_get16(p + 6);
	out->fragment = !(frag & 0x3fff) ? SU_FRAGMENT_NONE :
			(frag & 0x1fff) ? SU_FRAGMENT_LATER : SU_FRAGMENT_FIRST;
	out->frag_id = su_get16(p + 4);
	out->ip_len = (uint16_t)total;
	if (frag & 0x4000)
		out->flags |= SU_IP_DONT_FRAGMENT;
	if (ihl > SU_IPV4_HLEN && su_ipv4_source_routed(b, l3 + SU_IPV4_HLEN, ihl - SU_IPV4_HLEN))
		out->flags |= SU_IP_SOURCE_ROUTED;
	return su_parse_l4(b, l3 + ihl, total - ihl, p[9], out);
}

SU_INLINE enum su_route_counter su_parse_ipv4(const struct su_buf *b, uint32_t l3, uint32_t avail,
					      struct su_ip *out)
{
	const uint8_t *p = su_at(b, l3, SU_IPV4_HLEN);

	if (!p || avail < SU_IPV4_HLEN)
		return SU_ROUTE_pass_unparsed;
	/* Version 4 without options, nearly every packet: the header's length a constant, so that
	 * the checks on it and the options' walk fold away. */
	if (p[0] == 0x45)
		return su_parse_ipv4_hl(b, l3, avail, p, SU_IPV4_HLEN, out);
	if (p[0] >> 4 != 4)
		return SU_ROUTE_pass_unparsed;
	return su_parse_ipv4_hl(b, l3, avail, p, (uint32_t)(p[0] & 0x0f) * 4, out);
}

/* A walk along an IPv6 extension header chain (RFC 8200 4.3-4.6). Hop-by-hop, routing and
 * destination options are stepped over (Hdr Ext Len counts 8-octet units after the first 8); a
 * routing header with segments left marks the datagram source-routed; a fragment header makes
 * it a piece, unless it is atomic (offset 0, M clear: RFC 6946, a whole packet). */
struct su_ext_walk {
	struct su_buf b;
	uint32_t at;      /* the next header's offset from the frame's start */
	uint32_t end;     /* the datagram's end */
	uint32_t frag_id;
	uint8_t next;     /* the next header's type */
	uint8_t fragment; /* SU_FRAGMENT_* */
	uint8_t flags;    /* SU_IP_SOURCE_ROUTED */
	uint8_t fate;     /* SU_PARSE_OK while walking; drop_malformed when a header does not fit */
};

SU_INLINE int su_is_ext(uint8_t next)
{
	return next == SU_IPPROTO_HOPOPTS || next == SU_IPPROTO_ROUTING ||
	       next == SU_IPPROTO_DSTOPTS || next == SU_IPPROTO_FRAGMENT;
}

/* One extension header of the walk, read through `b`; 1 when the walk is over (the chain ended,
 * a later fragment's payload starts, or a header does not fit). */
SU_INLINE int su_ext_step(struct su_ext_walk *w, const struct su_buf *b)
{
	const uint8_t *e;

	if (!su_is_ext(w->next))
		return 1;
	e = su_at(b, w->at, 8);
	if (!e || w->at + 8 > w->end) {
		w->fate = SU_ROUTE_drop_malformed;
		return 1;
	}
	if (w->next == SU_IPPROTO_FRAGMENT) {
		uint32_t frag = su_get16(e + 2);

		w->fragment = (frag & 0xfff8) ? SU_FRAGMENT_LATER :
			      (frag & 1) ? SU_FRAGMENT_FIRST : w->fragment;
		w->frag_id = su_get32(e + 4);
		w->next = e[0];
		w->at += 8;
		/* What follows a later piece's fragment header is payload, not headers. */
		return w->fragment == SU_FRAGMENT_LATER;
	}
	w->flags |= (w->next == SU_IPPROTO_ROUTING && e[3] != 0) ? SU_IP_SOURCE_ROUTED : 0;
	w->next = e[0];
	w->at += ((uint32_t)e[1] + 1) * 8;
	if (w->at > w->end) {
		w->fate = SU_ROUTE_drop_malformed;
		return 1;
	}
	return 0;
}

/* The target's walk: su_ext_step up to SU_IPV6_EXT_MAX times until it says done (a loop in the
 * workers, bpf_loop in the kernel, whose verifier would otherwise walk every way through eight
 * headers of four kinds). Defined after this header. */
SU_INLINE void su_each_ext(struct su_ext_walk *w);

SU_INLINE enum su_route_counter su_parse_ipv6(const struct su_buf *b, uint32_t l3, uint32_t avail,
					      struct su_ip *out)
{
	const uint8_t *p = su_at(b, l3, SU_IPV6_HLEN);
	struct su_ext_walk w;
	uint32_t total;

	if (!p || avail < SU_IPV6_HLEN || p[0] >> 4 != 6)
		return SU_ROUTE_pass_unparsed;
	/* A payload length of 0 announces a jumbogram (RFC 2675), which no Ethernet carries. */
	total = SU_IPV6_HLEN + su_get16(p + 4);
	out->family = SU_FAMILY_IPV6;
	out->l3 = (uint16_t)l3;
	su_copy_addrs(out, p + 8, p + 24, 16);
	if (total == SU_IPV6_HLEN || total > avail)
		return SU_ROUTE_drop_malformed;
	out->ip_len = (uint16_t)total;
	/* No extension header, nearly every packet: what the walk would find without walking. */
	if (!su_is_ext(p[6])) {
		out->fragment = SU_FRAGMENT_NONE;
		out->frag_id = 0;
		out->flags = 0;
		return su_parse_l4(b, l3 + SU_IPV6_HLEN, total - SU_IPV6_HLEN, p[6], out);
	}
	w.b = *b;
	w.at = l3 + SU_IPV6_HLEN;
	w.end = l3 + total;
	w.frag_id = 0;
	w.next = p[6];
	w.fragment = SU_FRAGMENT_NONE;
	w.flags = 0;
	w.fate = SU_PARSE_OK;
	su_each_ext(&w);
	out->fragment = w.fragment;
	out->frag_id = w.frag_id;
	out->flags = w.flags;
	if (w.fate != SU_PARSE_OK)
		return (enum su_route_counter)w.fate;
	if (w.fragment != SU_FRAGMENT_LATER && su_is_ext(w.next)) {
		out->flags |= SU_IP_LONG_CHAIN;
		return SU_ROUTE_drop_ipv6_chain;
	}
	return su_parse_l4(b, w.at, w.end - w.at, w.next, out);
}

/* The IP datagram at `l3` of `family`, of which `avail` bytes are present (anything after the
 * datagram's own length is padding). SU_PARSE_OK, or the packet's fate: pass_unparsed for what
 * is not ours to look at (not IP, not TCP or UDP, ICMP that is no error about us), and for the
 * rest drop_malformed (lengths that lie, truncation), drop_ipv6_chain. When the addresses were
 * read before the failure, out->family is set: the caller decides by them whether to pass. */
SU_INLINE enum su_route_counter su_parse_ip(const struct su_buf *b, uint32_t l3, uint32_t avail,
					    uint8_t family, struct su_ip *out)
{
	out->family = SU_FAMILY_NONE;
	if (family == SU_FAMILY_IPV4)
		return su_parse_ipv4(b, l3, avail, out);
	if (family == SU_FAMILY_IPV6)
		return su_parse_ipv6(b, l3, avail, out);
	return SU_ROUTE_pass_unparsed;
}

/* Parses an Ethernet frame down to the ports: the IP datagram after up to two VLAN tags. An
 * untagged frame, the common case, skips the tags' loop. */
SU_INLINE enum su_route_counter su_parse_frame(const struct su_buf *b, struct su_ip *out)
{
	uint32_t off = SU_ETH_HLEN, len = su_len(b);
	const uint8_t *eth = su_at(b, 0, SU_ETH_HLEN);
	uint32_t type;

	out->family = SU_FAMILY_NONE;
	if (!eth)
		return SU_ROUTE_pass_unparsed;
	type = su_get16(eth + 12);
	for (int i = 0; i < SU_VLAN_TAGS_MAX && type != SU_ETH_P_IPV4 && type != SU_ETH_P_IPV6; i++) {
		const uint8_t *tag;

		if (type != SU_ETH_P_8021Q && type != SU_ETH_P_8021AD)
			break;
		/* A tag is TCI (2 bytes) then the encapsulated EtherType (2 bytes). */
		tag = su_at(b, off, 4);
		if (!tag)
			return SU_ROUTE_pass_unparsed;
		type = su_get16(tag + 2);
		off += 4;
	}
	if (type == SU_ETH_P_IPV4)
		return su_parse_ipv4(b, off, len - off, out);
	if (type == SU_ETH_P_IPV6)
		return su_parse_ipv6(b, off, len - off, out);
	return SU_ROUTE_pass_unparsed;
}

#endif /* SU_CORE_PARSE_H */
