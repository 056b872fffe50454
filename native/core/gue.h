/* Generic UDP Encapsulation (draft-ietf-intarea-gue-09) for the fast path: recognising and
 * unwrapping GUE sent to this host, and writing the outer headers in front of a packet.
 * Constants come from softunicast/gue.h (shared with the XDP program). Used by route.c. */
#ifndef SU_CORE_GUE_H
#define SU_CORE_GUE_H

#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "checksum.h"
#include "flow_hash.h"
#include "parse.h"
#include "view.h"

/* Whether `outer` is GUE for this host to unwrap: UDP to one of the host's own unicast
 * addresses, on the host's GUE port (0 turns decapsulation off). Asked of every packet, and
 * for most answered by the port alone. */
static inline int su_gue_for_us(const struct su_host *host, const struct su_ip *outer)
{
	if (outer->protocol != IPPROTO_UDP || host->gue_port == 0 || outer->dport != host->gue_port ||
	    outer->icmp_error)
		return 0;
	if (outer->family == SU_FAMILY_IPV4)
		return (host->flags & SU_HOST_HAS_IPV4) && memcmp(outer->daddr, host->ipv4, 4) == 0;
	return (host->flags & SU_HOST_HAS_IPV6) && memcmp(outer->daddr, host->ipv6, 16) == 0;
}

/* Unwraps `outer` (for which su_gue_for_us holds): checks the sender is a trusted peer and the
 * GUE header is one we accept, then parses the inner IP datagram into `inner`. SU_PARSE_OK or
 * the packet's fate (drop_untrusted_gue, drop_gue_*, drop_malformed). */
enum su_route_counter su_gue_decap(const struct su_view *view, const struct su_ip *outer,
				   struct su_ip *inner);

/* Bytes su_gue_encap writes: Ethernet, outer IPv4 or IPv6, UDP, and for variant 0 the GUE header. */
uint32_t su_gue_encap_len(const struct su_owner *owner);

/* Writes the outer headers for sending `inner` to the GUE owner `owner` into the
 * su_gue_encap_len(owner) bytes at `frame`, which end where the inner datagram starts. `owner`
 * is one su_view_lookup returned, `host` su_view_host of the same view: the headers come from
 * that view's forwarding record (su_gue_write). The caller has checked that the host has a
 * source address of the owner's family and that the result fits the MTU (so every length fits
 * its 16-bit field). */
void su_gue_encap(const struct su_host *host, const struct su_owner *owner,
		  const struct su_ip *inner, uint8_t *frame);

/* Fills in the GUE part of owner `owner`'s forwarding record `f` (view.h): the outer headers
 * from `host` to the owner's endpoint, their length and the checksum work that does not depend
 * on the packet. For owners with a source address of their family. */
void su_gue_prepare(const struct su_host *host, const struct su_owner *owner,
		    struct su_view_owner *f);

static inline void su_gue_put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The outer source port for `inner`: flow entropy (draft 5.11.2), so one flow, one port, one
 * ECMP path. All pieces of a fragmented datagram take one port, so the first's ports stay out
 * of it. Inner packets are TCP or UDP: no other protocol has an owner. */
static inline uint32_t su_gue_source_port(const struct su_view *view, const struct su_ip *inner)
{
	uint32_t ports = (uint32_t)inner->sport << 16 | inner->dport;

	if (inner->fragment != SU_FRAGMENT_NONE)
		ports = 0;
	return SU_GUE_SOURCE_PORT_MIN +
	       (su_flow_hash_from(view->flow_start[inner->family == SU_FAMILY_IPV6]
						  [inner->protocol == IPPROTO_UDP],
				  inner->family, inner->saddr, inner->daddr, (uint16_t)(ports >> 16),
				  (uint16_t)ports) &
		SU_GUE_SOURCE_PORT_MASK);
}

/* Writes the outer headers of `f` (a GUE owner) for `inner`, with source port `sport`
 * (su_gue_source_port), into the f->hdr_len bytes at `frame`, which end where the inner
 * datagram starts: the prepared headers, then what depends on the packet. Same bytes as
 * building them field by field (golden tests hold it to that), in a fraction of the
 * instructions. */
static inline void su_gue_write(const struct su_view_owner *f, const struct su_ip *inner,
				uint32_t sport, uint8_t *frame)
{
	const uint8_t *hdr = f->hdr[inner->family == SU_FAMILY_IPV6];
	uint32_t hdr_len = f->hdr_len, udp_len = f->udp_extra + inner->ip_len;
	uint8_t *ip = frame + SU_ETH_HLEN, *udp;

	/* Two fixed-size copies per outer family, overlapping in the middle, cover both of its
	 * lengths (variant 0 or 1) in a few wide moves where a variable-length copy would be a
	 * call: 32 + 16 bytes for 42 or 46 over IPv4, 48 + 32 for 62 or 66 over IPv6. */
	if (f->ipv4) {
		/* The prepared sum plus the datagram's length, folded once: both are below 2^16. */
		uint32_t sum = (uint32_t)f->csum + inner->ip_len;

		memcpy(frame, hdr, 32);
		memcpy(frame + hdr_len - 16, hdr + hdr_len - 16, 16);
		udp = ip + SU_IPV4_HLEN;
		su_gue_put16(udp, sport);
		su_gue_put16(udp + 4, udp_len);
		sum = (sum & 0xffff) + (sum >> 16);
		su_gue_put16(ip + 2, SU_IPV4_HLEN + udp_len);
		su_gue_put16(ip + 10, ~sum);
	} else {
		/* Over IPv6 a zero checksum is not allowed by default (RFC 8200 8.1, draft 5.8); it
		 * covers the inner packet, which already lies right behind the headers. The
		 * pseudo-header's length is summed as the 32-bit big-endian word it is. */
		const uint8_t len_be[4] = { (uint8_t)(udp_len >> 24), (uint8_t)(udp_len >> 16),
					    (uint8_t)(udp_len >> 8), (uint8_t)udp_len };
		uint16_t csum;

		memcpy(frame, hdr, 48);
		memcpy(frame + hdr_len - 32, hdr + hdr_len - 32, 32);
		udp = ip + SU_IPV6_HLEN;
		su_gue_put16(udp, sport);
		su_gue_put16(udp + 4, udp_len);
		su_gue_put16(ip + 4, udp_len);
		csum = su_csum_finish(su_csum_add(f->csum + su_load32(len_be), udp, udp_len));
		/* Zero means "no checksum" (RFC 768): a sum of zero is sent as all ones. */
		if (csum == 0)
			csum = 0xffff;
		memcpy(udp + 6, &csum, 2);
	}
}

#endif /* SU_CORE_GUE_H */
