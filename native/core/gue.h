/* Generic UDP Encapsulation (draft-ietf-intarea-gue-09) in the one core: recognising GUE for
 * this host, checking and unwrapping it, and writing the outer headers in front of a packet.
 * Both targets (native/core/target.h); packet sums through the target's su_csum_range. Header
 * layouts: draft sections 3 (variant 0) and 4 (variant 1), RFC 791, RFC 8200, RFC 768. The
 * outer headers of each owner are prepared once per table (view.c); used by route.h. */
#ifndef SU_CORE_GUE_H
#define SU_CORE_GUE_H

#include "checksum.h"
#include "flow_hash.h"
#include "parse.h"
#include "tables.h"

/* Whether `outer` is GUE for this host to unwrap: UDP to one of the host's own unicast
 * addresses, on the host's GUE port (0 turns decapsulation off). Asked of every packet, and
 * for most answered by the port alone. */
SU_INLINE int su_gue_for_us(const struct su_host *host, const struct su_ip *outer)
{
	if (outer->protocol != SU_IPPROTO_UDP || host->gue_port == 0 ||
	    outer->dport != host->gue_port || (outer->flags & SU_IP_ICMP_ERROR))
		return 0;
	if (outer->family == SU_FAMILY_IPV4)
		return (host->flags & SU_HOST_HAS_IPV4) &&
		       su_load32(outer->daddr) == su_load32(host->ipv4);
	return (host->flags & SU_HOST_HAS_IPV6) &&
	       su_load64(outer->daddr) == su_load64(host->ipv6) &&
	       su_load64(outer->daddr + 8) == su_load64(host->ipv6 + 8);
}

/* Whether an inner address is one a tunnel must not carry to us: link-local (169.254/16,
 * fe80::/10), multicast (224/4, ff00::/8), unspecified, or loopback. Linux sends router
 * solicitations through its own GUE tunnels (link-local source, multicast destination): tunnel
 * control traffic, never a slice's. */
SU_INLINE int su_not_unicast(uint8_t family, const uint8_t *a)
{
	if (family == SU_FAMILY_IPV4)
		return (a[0] == 169 && a[1] == 254) || a[0] >= 224 || a[0] == 127 ||
		       su_load32(a) == 0;
	return (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || a[0] == 0xff ||
	       (su_load64(a) == 0 && su_load32(a + 8) == 0 &&
		(su_load32(a + 12) == 0 || su_get32(a + 12) == 1));
}

/* The length the IP header at `at` gives its datagram (IPv4: total length; IPv6: 40 + payload
 * length), read before the header is parsed; 0 when its first 6 bytes are not in the frame. */
SU_INLINE uint32_t su_ip_stated_len(const struct su_buf *b, uint32_t at, uint32_t family)
{
	const uint8_t *p = su_at(b, at, 6);

	if (!p)
		return 0;
	return family == SU_FAMILY_IPV4 ? su_get16(p + 2) : SU_IPV6_HLEN + su_get16(p + 4);
}

/* Unwraps `outer` (for which su_gue_for_us holds) into `inner` (its offsets still count from
 * the frame's start), after every check that keeps a tunnel from becoming a relay (DESIGN.md):
 * the sender is trusted; the outer datagram is whole (no fragment, no source route), its UDP
 * length agrees with its IP length, its checksums hold; the GUE header is one we accept; the
 * inner packet ends exactly where the UDP datagram does, is no fragment of a GUE datagram, is
 * not source-routed and is unicast. SU_PARSE_OK or the packet's fate. */
SU_INLINE enum su_route_counter su_gue_unwrap(su_tbl t, const struct su_buf *b,
					      const struct su_ip *outer, struct su_ip *inner)
{
	const uint8_t *udp = su_at(b, outer->l4, SU_UDP_HLEN), *g;
	uint32_t udp_len, at, end, family, hlen;
	enum su_route_counter fate;

	/* Anyone can send UDP to our GUE port; only peers we trust may inject packets with
	 * arbitrary inner addresses into this data centre. */
	if (!su_tbl_trusted(t, outer->family, outer->saddr))
		return SU_ROUTE_drop_untrusted_gue;
	/* A piece of a GUE datagram: we do not reassemble, and one piece cannot be unwrapped. */
	if (outer->fragment != SU_FRAGMENT_NONE)
		return SU_ROUTE_drop_fragment;
	if (outer->flags & SU_IP_SOURCE_ROUTED)
		return SU_ROUTE_drop_source_routed;
	/* The UDP length must be the IP payload's: bytes after it, inside the IP datagram or in an
	 * Ethernet trailer, belong to nobody and are never unwrapped. */
	if (!udp)
		return SU_ROUTE_drop_malformed;
	udp_len = su_get16(udp + 4);
	if (udp_len != outer->l4_len || udp_len <= SU_UDP_HLEN)
		return SU_ROUTE_drop_gue_length;
	/* The outer headers are about to be thrown away: check them first. A non-zero UDP
	 * checksum MUST be verified (draft 5.8), over what it covers: the UDP datagram. Zero is
	 * accepted over IPv4 (draft 5.8) and over IPv6 from a trusted peer: the controlled
	 * environment RFC 6936 asks of zero-checksum tunnels (Linux peers running `noencap-csum6`
	 * send it); our own encapsulator always sums over IPv6. */
	if (outer->family == SU_FAMILY_IPV4 &&
	    su_csum_finish(su_csum_range(b, outer->l3, outer->l4 - outer->l3, 0)) != 0)
		return SU_ROUTE_drop_malformed;
	if ((udp[6] | udp[7]) &&
	    su_csum_finish((uint64_t)su_csum_range(b, outer->l4, udp_len, 0) +
			   su_pseudo_sum(outer->family, outer->saddr, outer->daddr, udp_len)) != 0)
		return SU_ROUTE_drop_malformed;

	at = outer->l4 + SU_UDP_HLEN;
	end = outer->l4 + udp_len;
	g = su_at(b, at, 1);
	if (!g)
		return SU_ROUTE_drop_malformed;
	switch (SU_GUE_VARIANT(g[0])) {
	case 0:
		g = su_at(b, at, SU_GUE_V0_HEADER_LEN);
		if (!g || udp_len < SU_UDP_HLEN + SU_GUE_V0_HEADER_LEN)
			return SU_ROUTE_drop_malformed;
		if (SU_GUE_CONTROL(g[0]))
			return SU_ROUTE_drop_gue_control;
		/* We implement no flags, so any set flag is unknown: drop (section 5.4). */
		if (g[2] | g[3])
			return SU_ROUTE_drop_gue_flags;
		/* Hlen words of optional fields follow the first word; with no flags they can only
		 * be private data or padding, skipped and not interpreted (section 3.4). */
		hlen = SU_GUE_V0_HEADER_LEN + 4 * (uint32_t)SU_GUE_HLEN(g[0]);
		if (at + hlen >= end)
			return SU_ROUTE_drop_malformed;
		family = g[1] == SU_GUE_PROTO_IPV4 ? SU_FAMILY_IPV4 :
			 g[1] == SU_GUE_PROTO_IPV6 ? SU_FAMILY_IPV6 : SU_FAMILY_NONE;
		at += hlen;
		g = su_at(b, at, 1);
		if (family == SU_FAMILY_NONE || !g || g[0] >> 4 != family)
			return SU_ROUTE_drop_gue_proto;
		break;
	case 1:
		/* No header: the variant bits are the top of the IP version (section 4). */
		family = g[0] >> 4;
		if (family != SU_FAMILY_IPV4 && family != SU_FAMILY_IPV6)
			return SU_ROUTE_drop_gue_proto;
		break;
	default:
		return SU_ROUTE_drop_gue_variant;
	}
	/* The inner datagram ends where the outer UDP datagram does, exactly, and its own header
	 * says so: one that claims bytes past the UDP length (inside the outer IP datagram, or an
	 * Ethernet trailer after it) or ends short of it disagrees, whatever else it holds. */
	if (su_ip_stated_len(b, at, family) != end - at)
		return SU_ROUTE_drop_gue_length;
	fate = su_parse_ip(b, at, end - at, (uint8_t)family, inner);
	/* Tunnel control traffic is named for what it is, whatever it carries: a Linux host sends
	 * router solicitations (ICMPv6, which no slice has) through its own GUE tunnels. The
	 * addresses are read before anything else of the packet can fail to parse. */
	if (inner->family != SU_FAMILY_NONE &&
	    (su_not_unicast(inner->family, inner->saddr) || su_not_unicast(inner->family, inner->daddr)))
		return SU_ROUTE_drop_tunnel_control;
	if (fate == SU_ROUTE_pass_unparsed || fate == SU_ROUTE_drop_ipv6_chain)
		return SU_ROUTE_drop_malformed; /* inside a tunnel, nothing is the kernel's */
	if (fate != SU_PARSE_OK)
		return fate;
	if (inner->flags & SU_IP_SOURCE_ROUTED)
		return SU_ROUTE_drop_source_routed;
	return SU_PARSE_OK;
}

/* The outer source port for `inner`: flow entropy (draft 5.11.2), so one flow, one port, one
 * ECMP path. All pieces of a fragmented datagram take one port, so the first's ports stay out
 * of it. */
SU_INLINE uint32_t su_gue_source_port(const struct su_meta *m, const struct su_ip *inner)
{
	uint32_t ports = (uint32_t)inner->sport << 16 | inner->dport;

	if (inner->fragment != SU_FRAGMENT_NONE)
		ports = 0;
	return SU_GUE_SOURCE_PORT_MIN +
	       (su_flow_hash_from(m->flow_start[inner->family == SU_FAMILY_IPV6]
					       [inner->protocol == SU_IPPROTO_UDP],
				  inner->family, inner->saddr, inner->daddr, (uint16_t)(ports >> 16),
				  (uint16_t)ports) &
		SU_GUE_SOURCE_PORT_MASK);
}

/* Writes the outer headers of `f` (a GUE owner) for `inner` (its datagram now at offset
 * f->hdr_len of `b`, whose first f->hdr_len bytes are free), with source port `sport`: the
 * prepared headers, then what depends on the packet. -1 when the buffer is shorter than that
 * (never, after the caller's moves; the check is for the verifier). */
SU_INLINE int su_gue_write(const struct su_fwd *f, const struct su_ip *inner, uint32_t sport,
			   const struct su_buf *b)
{
	uint32_t udp_len = f->udp_extra + inner->ip_len;
	int v6 = inner->family == SU_FAMILY_IPV6;

	if (f->ipv4) {
		uint8_t *frame = su_at(b, 0, 46);
		/* The prepared sum plus the datagram's length, folded once: both are below 2^16. */
		uint32_t sum = (uint32_t)f->csum + inner->ip_len;

		if (!frame)
			return -1;
		/* Fixed-size copies, overlapping when variant 1's 42 bytes are written: the bytes
		 * past them are the inner packet's, rewritten below... so copy exactly. */
		if (f->hdr_len == 46)
			su_memcpy(frame, f->hdr[v6], 46);
		else
			su_memcpy(frame, f->hdr[v6], 42);
		su_put16(frame + SU_ETH_HLEN + 20, sport);
		su_put16(frame + SU_ETH_HLEN + 24, udp_len);
		sum = (sum & 0xffff) + (sum >> 16);
		su_put16(frame + SU_ETH_HLEN + 2, SU_IPV4_HLEN + udp_len);
		su_put16(frame + SU_ETH_HLEN + 10, ~sum);
	} else {
		uint8_t *frame = su_at(b, 0, 66), *udp;
		uint64_t sum;
		uint16_t csum;

		if (!frame)
			return -1;
		if (f->hdr_len == 66)
			su_memcpy(frame, f->hdr[v6], 66);
		else
			su_memcpy(frame, f->hdr[v6], 62);
		udp = frame + SU_ETH_HLEN + SU_IPV6_HLEN;
		su_put16(udp, sport);
		su_put16(udp + 4, udp_len);
		su_put16(frame + SU_ETH_HLEN + 4, udp_len);
		/* Over IPv6 a zero checksum is not allowed by default (RFC 8200 8.1, draft 5.8);
		 * it covers the inner packet, which already lies right behind the headers. The
		 * pseudo-header's length is summed as the 32-bit big-endian word it is. */
		{
			const uint8_t len_be[4] = { (uint8_t)(udp_len >> 24), (uint8_t)(udp_len >> 16),
						    (uint8_t)(udp_len >> 8), (uint8_t)udp_len };

			sum = f->csum + su_load32(len_be) +
			      su_csum_range(b, SU_ETH_HLEN + SU_IPV6_HLEN, udp_len, 0);
		}
		csum = su_csum_finish(sum);
		/* Zero means "no checksum" (RFC 768): a sum of zero is sent as all ones. */
		if (csum == 0)
			csum = 0xffff;
		frame = su_at(b, SU_ETH_HLEN + SU_IPV6_HLEN + 6, 2);
		if (!frame)
			return -1;
		su_memcpy(frame, &csum, 2);
	}
	return 0;
}

#endif /* SU_CORE_GUE_H */
