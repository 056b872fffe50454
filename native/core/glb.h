/* GLB director's hop list on the balancer's side (issue 15): a flow-hash packet for a 'glb'
 * owner (SU_ENCAP_GLB) goes to its Maglev row's primary in GUE variant 0 whose hop list names the
 * row's secondary, so that a primary without the flow's connection sends it on there (second
 * chance: bpf/backend.bpf.c, native/core/hop_list.h read it). Layout: src/lb/hop-list.ts. Both
 * targets; used by route.h, after the target's su_tbl_fwd. */
#ifndef SU_CORE_GLB_H
#define SU_CORE_GLB_H

#include "checksum.h"
#include "parse.h"
#include "tables.h"

/* The hop of a packet for `owner` whose flow-hash row has `secondary` (SU_OWNER_NONE for a
 * packet no row placed): the secondary's IPv4 address (as loaded) when the owner is a 'glb' one
 * and the secondary another 'glb' owner (it reads the list and can take the packet), else 0 (an
 * empty list). An owner never names itself: a backend must not send a packet back to itself.
 * 0.0.0.0 is never a 'glb' endpoint (view_check.c), so 0 means no hop. Asked by the owner stage
 * (route.h, su_owner_of), whose frame in the XDP program has room for the two lookups' keys. */
SU_INLINE uint32_t su_glb_hop(su_tbl t, uint32_t owner, uint32_t secondary)
{
	const struct su_fwd *f;

	if (secondary == SU_OWNER_NONE || secondary == owner)
		return 0;
	f = su_tbl_fwd(t, owner);
	if (!f || !f->glb)
		return 0;
	f = su_tbl_fwd(t, secondary);
	return f && f->glb ? su_load32(f->glb_addr) : 0;
}

/* Writes the outer headers of `f` (a 'glb' owner, over IPv4) for `inner` (its datagram now at
 * offset SU_GLB_HDR_LEN of `b`, SU_GLB_HOP_LEN more with a hop, the bytes before it free), with
 * source port `sport` and the hop `hop` (as su_glb_hop loaded it; 0: none). The prepared
 * headers have an empty list (Hlen 1, hop count 0, next hop index 0); a hop raises Hlen and the
 * count and follows the private word. -1 when the buffer is shorter than that (never, after the
 * caller's moves; the check is for the verifier). */
SU_INLINE int su_glb_write(const struct su_fwd *f, const struct su_ip *inner, uint32_t sport,
			   uint32_t hop, const struct su_buf *b)
{
	uint32_t extra = hop ? SU_GLB_HOP_LEN : 0;
	uint32_t udp_len = f->udp_extra + extra + inner->ip_len;
	/* The prepared sum (with the outer headers' length) plus the rest of the total length:
	 * below 2^17, so two folds leave 16 bits (RFC 1071). */
	uint32_t sum = (uint32_t)f->csum + extra + inner->ip_len;
	uint8_t *frame = su_at(b, 0, SU_GLB_HDR_LEN + SU_GLB_HOP_LEN), *gue;

	if (!frame)
		return -1;
	su_memcpy(frame, f->hdr[inner->family == SU_FAMILY_IPV6], SU_GLB_HDR_LEN);
	gue = frame + SU_ETH_HLEN + SU_IPV4_HLEN + SU_UDP_HLEN;
	if (extra) {
		gue[0] = 2; /* variant 0, C = 0, Hlen: the private word and one hop */
		gue[7] = 1; /* hop count; next hop index (gue[6]) stays 0: try hop 0 first */
		su_memcpy(gue + SU_GUE_V0_HEADER_LEN + SU_GLB_PRIVATE_LEN, &hop, 4);
	}
	su_put16(frame + SU_ETH_HLEN + SU_IPV4_HLEN, sport);
	su_put16(frame + SU_ETH_HLEN + SU_IPV4_HLEN + 4, udp_len);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	su_put16(frame + SU_ETH_HLEN + 2, SU_IPV4_HLEN + udp_len);
	su_put16(frame + SU_ETH_HLEN + 10, ~sum);
	return 0;
}

#endif /* SU_CORE_GLB_H */
