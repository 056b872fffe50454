/* Second chance on a backend, for both targets (native/core/target.h): reading GUE variant 0
 * with GLB director's hop list (layout: src/lb/hop-list.ts), and the two ways a packet leaves:
 * unwrapped for this host's kernel, or sent on to the next hop. Used by bpf/backend.bpf.c; the
 * includer defines su_move_head and su_each_ext (parse.h) first. */
#ifndef SU_CORE_HOP_LIST_H
#define SU_CORE_HOP_LIST_H

#include "softunicast/chance.h"
#include "softunicast/gue.h"
#include "parse.h"

/* The private word after GUE's first: type (16, 0), next hop index (8), hop count (8). */
#define SU_HOPS_FIXED_LEN 8
/* Hlen has five bits: 31 words after the first, one of them the private word. */
#define SU_HOPS_MAX 30
/* "Go on": what su_hops_parse returns for a hop list it read whole. */
#define SU_HOPS_OK SU_CHANCE_COUNTER_COUNT

#define SU_TCP_FLAG_SYN 0x02
#define SU_TCP_FLAG_ACK 0x10

/* What su_hops_parse found. Offsets count from the frame's first byte. */
struct su_hops {
	struct su_ip outer;
	struct su_ip inner;
	uint32_t gue;      /* the GUE header */
	uint8_t next_hop;  /* index of the next hop to try */
	uint8_t hop_count;
	uint8_t tcp_flags; /* the inner TCP header's flags; 0 for anything else */
	uint8_t pad;
};

/* Reads the frame as GLB GUE: Ethernet without tags, IPv4 (hops are IPv4 only, so the outer
 * header is too), a whole UDP datagram to SU_CHANCE_GUE_PORT, GUE variant 0 with no flags and
 * GLB's private word, and an inner IP datagram that ends exactly where the UDP datagram does.
 * SU_HOPS_OK, or the counter that says why not: not_gue (the kernel's to handle as it is) or
 * malformed (a header GLB would not write). */
SU_INLINE uint32_t su_hops_parse(const struct su_buf *b, struct su_hops *h)
{
	const uint8_t *g;
	uint32_t at, end, hlen, family;
	enum su_route_counter fate;

	if (su_parse_frame(b, &h->outer) != SU_PARSE_OK || h->outer.family != SU_FAMILY_IPV4 ||
	    h->outer.protocol != SU_IPPROTO_UDP || h->outer.dport != SU_CHANCE_GUE_PORT ||
	    (h->outer.flags & SU_IP_ICMP_ERROR) || h->outer.l3 != SU_ETH_HLEN)
		return SU_CHANCE_chance_not_gue;
	/* A piece of a datagram cannot be read or sent on alone: the kernel reassembles it. */
	if (h->outer.fragment != SU_FRAGMENT_NONE)
		return SU_CHANCE_chance_not_gue;
	h->gue = h->outer.l4 + SU_UDP_HLEN;
	end = h->outer.l4 + h->outer.l4_len;
	g = su_at(b, h->gue, SU_HOPS_FIXED_LEN);
	if (!g || h->outer.l4_len < SU_UDP_HLEN + SU_HOPS_FIXED_LEN)
		return SU_CHANCE_chance_malformed;
	/* GLB sets variant 0, C = 0 and no flags; an unknown flag means drop (draft 5.4). */
	if (SU_GUE_VARIANT(g[0]) != 0 || SU_GUE_CONTROL(g[0]) || g[2] || g[3] || g[4] || g[5])
		return SU_CHANCE_chance_malformed;
	h->next_hop = g[6];
	h->hop_count = g[7];
	hlen = SU_GUE_V0_HEADER_LEN + 4 * (uint32_t)SU_GUE_HLEN(g[0]);
	if (SU_GUE_HLEN(g[0]) != 1u + g[7] || g[6] > g[7] || h->gue + hlen >= end)
		return SU_CHANCE_chance_malformed;
	family = g[1] == SU_GUE_PROTO_IPV4 ? SU_FAMILY_IPV4 :
		 g[1] == SU_GUE_PROTO_IPV6 ? SU_FAMILY_IPV6 : SU_FAMILY_NONE;
	at = h->gue + hlen;
	g = su_at(b, at, 1);
	if (family == SU_FAMILY_NONE || !g || g[0] >> 4 != family)
		return SU_CHANCE_chance_malformed;
	h->tcp_flags = 0;
	h->inner.protocol = 0;
	fate = su_parse_ip(b, at, end - at, (uint8_t)family, &h->inner);
	/* Neither TCP nor UDP (ICMP) is pass_unparsed: the kernel's, no connection to look for. */
	if (fate == SU_ROUTE_pass_unparsed)
		h->inner.protocol = 0;
	else if (fate != SU_PARSE_OK)
		return SU_CHANCE_chance_malformed;
	if (h->inner.family != family || h->inner.ip_len != end - at)
		return SU_CHANCE_chance_malformed;
	if (h->inner.protocol == SU_IPPROTO_TCP && h->inner.fragment != SU_FRAGMENT_LATER) {
		g = su_at(b, h->inner.l4 + 13u, 1);
		if (!g)
			return SU_CHANCE_chance_malformed;
		h->tcp_flags = g[0];
	}
	return SU_HOPS_OK;
}

/* Whether the packet goes to this host without asking for a connection: anything but TCP
 * (local_other; an ICMP error too, whatever it quotes), a later fragment of TCP (no ports to
 * look up: the kernel reassembles it), or a
 * SYN that opens a connection (local_syn). SU_HOPS_OK: TCP for an existing connection, which
 * is this host's only if the kernel has its socket. */
SU_INLINE uint32_t su_hops_triage(const struct su_hops *h)
{
	if (h->inner.protocol != SU_IPPROTO_TCP || h->inner.fragment == SU_FRAGMENT_LATER ||
	    (h->inner.flags & SU_IP_ICMP_ERROR))
		return SU_CHANCE_chance_local_other;
	if ((h->tcp_flags & (SU_TCP_FLAG_SYN | SU_TCP_FLAG_ACK)) == SU_TCP_FLAG_SYN)
		return SU_CHANCE_chance_local_syn;
	return SU_HOPS_OK;
}

/* The next hop's address (network order, as a 4-byte load), or 0 when every hop was tried. */
SU_INLINE uint32_t su_hops_next(const struct su_buf *b, const struct su_hops *h)
{
	uint32_t index = h->next_hop;
	const uint8_t *hop;

	if (index >= h->hop_count || index >= SU_HOPS_MAX)
		return 0;
	hop = su_at(b, h->gue + SU_HOPS_FIXED_LEN + 4 * index, 4);
	return hop ? su_load32(hop) : 0;
}

/* RFC 1624 eqn. 3: the checksum `csum` (host order) after one 16-bit word went from `from`
 * to `to`. Ones' complement sums commute, so patches apply one after another. */
SU_INLINE uint32_t su_csum_patch16(uint32_t csum, uint32_t from, uint32_t to)
{
	uint32_t sum = (~csum & 0xffff) + (~from & 0xffff) + (to & 0xffff);

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

/* The same for a 32-bit field (an address), both words, `from` and `to` as they lie (4 bytes). */
SU_INLINE uint32_t su_csum_patch32(uint32_t csum, const uint8_t *from, const uint8_t *to)
{
	csum = su_csum_patch16(csum, su_get16(from), su_get16(to));
	return su_csum_patch16(csum, su_get16(from + 2), su_get16(to + 2));
}

/* GLB's forwarding step (docs/development/gue-header.md, "Packet Processing"), in place: the
 * outer destination becomes the source, `hop` (network order) the destination, the next hop
 * index goes up by one; the IPv4 header checksum and a UDP checksum other than 0 are patched,
 * not recomputed. The frame goes back out the link it came in on: from the MAC address it was
 * sent to, to `mac`. 0, or -1 when the frame is not what `h` says. */
SU_INLINE int su_hops_forward(const struct su_buf *b, const struct su_hops *h, uint32_t hop,
			      const uint8_t *mac)
{
	uint8_t *eth, *ip, *udp, to[4];
	uint32_t word, csum;

	/* Each pointer checked as it is made: clang merges later checks into earlier ones in ways
	 * the verifier cannot follow. The outer header is at SU_ETH_HLEN (su_hops_parse). */
	udp = su_at(b, h->outer.l4, SU_UDP_HLEN + SU_HOPS_FIXED_LEN);
	if (!udp)
		return -1;
	eth = su_at(b, 0, SU_ETH_HLEN + SU_IPV4_HLEN);
	if (!eth)
		return -1;
	ip = eth + SU_ETH_HLEN;
	su_memcpy(eth + 6, eth, 6);
	su_memcpy(eth, mac, 6);
	su_memcpy(to, &hop, 4);
	/* Source gets the old destination, destination the hop: as sums go, the old source
	 * became the hop. */
	csum = su_csum_patch32(su_get16(ip + 10), ip + 12, to);
	su_put16(ip + 10, csum);
	csum = su_get16(udp + 6);
	word = su_get16(udp + SU_UDP_HLEN + 6);
	if (csum) {
		csum = su_csum_patch32(csum, ip + 12, to);
		csum = su_csum_patch16(csum, word, word + 0x100);
		/* Zero means "no checksum" (RFC 768): a sum of zero is sent as all ones. */
		su_put16(udp + 6, csum ? csum : 0xffff);
	}
	udp[SU_UDP_HLEN + 6] = (uint8_t)(h->next_hop + 1);
	su_memcpy(ip + 12, ip + 16, 4);
	su_memcpy(ip + 16, to, 4);
	return 0;
}

/* Unwraps the packet for this host's kernel: the inner datagram behind the frame's own MAC
 * addresses and the inner family's EtherType, everything before it dropped. The kernel then
 * sees the client's packet as if it had come straight from the client, and answers it from
 * the service address (direct server return). 0, or -1 when the frame would not move. */
SU_INLINE int su_hops_unwrap(struct su_buf *b, const struct su_hops *h)
{
	uint8_t macs[12], *eth = su_at(b, 0, 12);

	if (!eth || h->inner.l3 < SU_ETH_HLEN)
		return -1;
	su_memcpy(macs, eth, 12);
	if (su_move_head(b, (int32_t)h->inner.l3 - SU_ETH_HLEN))
		return -1;
	eth = su_at(b, 0, SU_ETH_HLEN);
	if (!eth)
		return -1;
	su_memcpy(eth, macs, 12);
	su_put16(eth + 12, h->inner.family == SU_FAMILY_IPV4 ? SU_ETH_P_IPV4 : SU_ETH_P_IPV6);
	return 0;
}

#endif /* SU_CORE_HOP_LIST_H */
