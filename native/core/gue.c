/* See gue.h. Header layouts: draft-ietf-intarea-gue-09 sections 3 (variant 0) and 4 (variant 1),
 * RFC 791 (IPv4), RFC 8200 (IPv6), RFC 768 (UDP). */
#include "gue.h"

#include <netinet/in.h>
#include <stddef.h>
#include <string.h>

#include "checksum.h"
#include "flow_hash.h"

#define SU_IPV4_DF 0x4000 /* "don't fragment" in the flags/offset word (RFC 791 3.1) */

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The IP family a Proto field or first nibble names, or SU_FAMILY_NONE. */
static uint8_t family_of_proto(uint8_t proto)
{
	if (proto == SU_GUE_PROTO_IPV4)
		return SU_FAMILY_IPV4;
	if (proto == SU_GUE_PROTO_IPV6)
		return SU_FAMILY_IPV6;
	return SU_FAMILY_NONE;
}

enum su_route_counter su_gue_decap(const struct su_view *view, const struct su_ip *outer,
				   struct su_ip *inner)
{
	const uint8_t *payload;
	uint32_t udp_len, payload_len, inner_off;
	uint8_t family;

	/* Anyone can send UDP to our GUE port; only peers we trust may inject packets with
	 * arbitrary inner addresses into this data centre. */
	if (!su_view_trusted(view, outer->family, outer->saddr))
		return SU_ROUTE_drop_untrusted_gue;
	/* The UDP length bounds the payload; it must agree with the IP datagram. */
	udp_len = get16(outer->l4 + 4);
	if (udp_len < SU_UDP_HLEN || udp_len > outer->l4_len)
		return SU_ROUTE_drop_malformed;
	payload = outer->l4 + SU_UDP_HLEN;
	payload_len = udp_len - SU_UDP_HLEN;
	if (payload_len < 1)
		return SU_ROUTE_drop_malformed;
	/* The outer headers are about to be thrown away: check them first, as the XDP program's
	 * decapsulation does (bpf/gue.h). A non-zero UDP checksum MUST be verified (draft 5.8).
	 * Zero is accepted over IPv4 (draft 5.8), and over IPv6 from a trusted peer only, which is
	 * the controlled environment RFC 6936 asks of zero-checksum tunnels; our own encapsulator
	 * always sums over IPv6. */
	if (outer->family == SU_FAMILY_IPV4 &&
	    !su_ipv4_checksum_ok(outer->ip, (uint32_t)(outer->l4 - outer->ip)))
		return SU_ROUTE_drop_malformed;
	if ((outer->l4[6] || outer->l4[7]) &&
	    !su_udp_checksum_ok(outer->family, outer->saddr, outer->daddr, outer->l4, udp_len))
		return SU_ROUTE_drop_malformed;

	switch (SU_GUE_VARIANT(payload[0])) {
	case 0:
		if (payload_len < SU_GUE_V0_HEADER_LEN)
			return SU_ROUTE_drop_malformed;
		if (SU_GUE_CONTROL(payload[0]))
			return SU_ROUTE_drop_gue_control;
		/* We implement no flags, so any set flag is unknown: drop (section 5.4). */
		if (payload[2] || payload[3])
			return SU_ROUTE_drop_gue_flags;
		/* Hlen words of optional fields follow the first word; with no flags they can
		 * only be private data or padding, skipped and not interpreted (section 3.4). */
		inner_off = SU_GUE_V0_HEADER_LEN + 4 * (uint32_t)SU_GUE_HLEN(payload[0]);
		if (inner_off >= payload_len)
			return SU_ROUTE_drop_malformed;
		family = family_of_proto(payload[1]);
		if (family == SU_FAMILY_NONE || payload[inner_off] >> 4 != family)
			return SU_ROUTE_drop_gue_proto;
		break;
	case 1:
		/* No header: the variant bits are the top of the IP version (section 4). */
		inner_off = 0;
		family = payload[0] >> 4;
		if (family != SU_FAMILY_IPV4 && family != SU_FAMILY_IPV6)
			return SU_ROUTE_drop_gue_proto;
		break;
	default:
		return SU_ROUTE_drop_gue_variant;
	}
	return su_parse_ip(payload + inner_off, payload_len - inner_off, family, inner);
}

uint32_t su_gue_encap_len(const struct su_owner *owner)
{
	return SU_ETH_HLEN + (owner->family == SU_FAMILY_IPV4 ? SU_IPV4_HLEN : SU_IPV6_HLEN) +
	       SU_UDP_HLEN + (owner->encap == SU_ENCAP_GUE0 ? SU_GUE_V0_HEADER_LEN : 0);
}

void su_gue_prepare(const struct su_host *host, const struct su_owner *owner,
		    struct su_view_owner *f)
{
	uint8_t *hdr = f->hdr[0], *ip = hdr + SU_ETH_HLEN, *udp;
	uint32_t sum = 0;

	f->hdr_len = (uint8_t)su_gue_encap_len(owner);
	f->udp_extra = SU_UDP_HLEN + (owner->encap == SU_ENCAP_GUE0 ? SU_GUE_V0_HEADER_LEN : 0);

	memcpy(hdr, owner->next_hop_mac, 6);
	memcpy(hdr + 6, host->mac, 6);
	if (owner->family == SU_FAMILY_IPV4) {
		put16(hdr + 12, 0x0800);
		ip[0] = 0x45; /* version 4, IHL 5: no options */
		ip[1] = 0;    /* DSCP/ECN; total length (2-3) and checksum (10-11) per packet */
		put16(ip + 4, 0); /* identification: unused, as DF forbids fragmenting (RFC 6864 4.1) */
		put16(ip + 6, SU_IPV4_DF);
		ip[8] = SU_GUE_OUTER_TTL;
		ip[9] = IPPROTO_UDP;
		memcpy(ip + 12, host->ipv4, 4);
		memcpy(ip + 16, owner->endpoint, 4);
		/* The header's sum with the length of the outer headers, folded (RFC 1071): never
		 * zero (0x4500). Each packet adds its datagram's length. */
		for (int i = 0; i < SU_IPV4_HLEN; i += 2)
			sum += get16(ip + i);
		sum += SU_IPV4_HLEN + f->udp_extra;
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		f->csum = sum;
		f->ipv4 = 1;
		udp = ip + SU_IPV4_HLEN;
	} else {
		const uint8_t next_header[8] = { 0, 0, 0, 0, 0, 0, 0, IPPROTO_UDP };

		put16(hdr + 12, 0x86dd);
		ip[0] = 0x60; /* version 6, traffic class 0, flow label 0 */
		ip[1] = ip[2] = ip[3] = 0; /* payload length (4-5) per packet */
		ip[6] = IPPROTO_UDP;
		ip[7] = SU_GUE_OUTER_TTL;
		memcpy(ip + 8, host->ipv6, 16);
		memcpy(ip + 24, owner->endpoint, 16);
		/* The UDP checksum's pseudo-header (RFC 8200 8.1) but for the length. */
		f->csum = su_csum_add(su_csum_add(su_csum_add(0, ip + 8, 16), ip + 24, 16),
				      next_header, sizeof(next_header));
		f->ipv4 = 0;
		udp = ip + SU_IPV6_HLEN;
	}
	/* Source port, length (and over IPv6 the checksum) per packet; zero over IPv4: allowed
	 * and skipped by the receiver (draft 5.8). */
	put16(udp + 2, owner->gue_port);
	/* The same for an inner IPv6 datagram, but for variant 0's header: C = 0, Hlen = 0, no
	 * flags, Proto the inner family's protocol. */
	memcpy(f->hdr[1], hdr, sizeof(f->hdr[1]));
	if (owner->encap == SU_ENCAP_GUE0) {
		udp[9] = SU_GUE_PROTO_IPV4;
		f->hdr[1][udp - hdr + 9] = SU_GUE_PROTO_IPV6;
	}
}

void su_gue_encap(const struct su_host *host, const struct su_owner *owner,
		  const struct su_ip *inner, uint8_t *frame)
{
	/* su_view_host hands out the view's own copy of the host settings. */
	const struct su_view *view = (const struct su_view *)((const char *)host -
							      offsetof(struct su_view, header_copy.host));

	su_gue_write(su_view_fwd(view, owner), inner, su_gue_source_port(view, inner), frame);
}
