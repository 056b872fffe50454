/* "Too big" answers, for both targets of the one core: a packet that its encapsulation would take
 * past the interface MTU is turned, in place, into an ICMP "fragmentation needed" (RFC 792,
 * RFC 1191) or ICMPv6 "packet too big" (RFC 4443 3.2) to its sender, carrying the MTU left after
 * encapsulation, so that path MTU discovery converges instead of the packet vanishing. The
 * answer goes back out where the packet came from (the MAC addresses swapped, VLAN tags kept),
 * from the address it was sent to, as Katran answers for its VIPs. Rate-limited per CPU (XDP)
 * or per worker (a token bucket; the target keeps it: su_icmp_tokens, su_now_ns). Used by
 * route.h. */
#ifndef SU_CORE_ICMP_H
#define SU_CORE_ICMP_H

#include "checksum.h"
#include "ip.h"
#include "tables.h"

/* How much of the packet the answer quotes: as much as fits in the minimum datagram every host
 * must take, 576 bytes for IPv4 (RFC 1812 4.3.2.3), 1280 for IPv6 (RFC 4443 2.4 (c)). */
#define SU_ICMP_QUOTE4 (576 - SU_IPV4_HLEN - SU_ICMP_HLEN)
#define SU_ICMP_QUOTE6 (1280 - SU_IPV6_HLEN - SU_ICMP_HLEN)
/* Tags before the IP header at most (802.1ad + 802.1Q): the Ethernet header moved with them. */
#define SU_L2_MAX (SU_ETH_HLEN + 8)

/* Takes a token, topping up for the time since the last one; none without a bucket. */
SU_INLINE int su_icmp_take(struct su_icmp_tokens *t, uint64_t now)
{
	uint64_t add;

	if (!t)
		return 0;
	add = (now - t->last_ns) / (1000000000ull / SU_ICMP_PER_SECOND);

	if (add > 0) {
		uint64_t tokens = t->tokens + add;

		t->tokens = tokens > SU_ICMP_BURST ? SU_ICMP_BURST : (uint32_t)tokens;
		t->last_ns = now;
	}
	if (t->tokens == 0)
		return 0;
	t->tokens--;
	return 1;
}

/* Whether `pkt` gets an answer: the sender does path MTU discovery (IPv4 with DF, or IPv6), it
 * is no ICMP error itself (RFC 1122 3.2.2, RFC 4443 2.4 (e)), and it is the datagram's first
 * piece if any (a later one has no transport header to quote usefully). */
SU_INLINE int su_icmp_too_big_wanted(const struct su_ip *pkt)
{
	if (pkt->flags & SU_IP_ICMP_ERROR)
		return 0;
	if (pkt->fragment == SU_FRAGMENT_LATER)
		return 0;
	return pkt->family == SU_FAMILY_IPV6 || (pkt->flags & SU_IP_DONT_FRAGMENT);
}

/* The headers of the answer, IP and ICMP, for `quote` bytes of `pkt` and `mtu`: `out` holds
 * 28 (IPv4) or 48 (IPv6) bytes; the ICMP checksum covers the header only, the quote is added by
 * the caller. */
SU_INLINE uint32_t su_icmp_headers(const struct su_ip *pkt, uint32_t quote, uint32_t mtu, uint8_t *out)
{
	if (pkt->family == SU_FAMILY_IPV4) {
		uint8_t *icmp = out + SU_IPV4_HLEN;

		su_memset(out, 0, SU_IPV4_HLEN + SU_ICMP_HLEN);
		out[0] = 0x45;
		out[1] = 0xc0; /* internetwork control, as routers send errors (RFC 1812 5.3.3.2) */
		su_put16(out + 2, SU_IPV4_HLEN + SU_ICMP_HLEN + quote);
		out[8] = 64;
		out[9] = SU_IPPROTO_ICMP;
		su_memcpy(out + 12, pkt->daddr, 4); /* from the address the packet was sent to */
		su_memcpy(out + 16, pkt->saddr, 4);
		{
			uint16_t csum = su_csum_finish(su_csum_add(0, out, SU_IPV4_HLEN));

			su_memcpy(out + 10, &csum, 2);
		}
		icmp[0] = 3; /* destination unreachable */
		icmp[1] = 4; /* fragmentation needed and DF set */
		su_put16(icmp + 6, mtu);
		return SU_IPV4_HLEN + SU_ICMP_HLEN;
	}
	{
		uint8_t *icmp = out + SU_IPV6_HLEN;

		su_memset(out, 0, SU_IPV6_HLEN + SU_ICMP_HLEN);
		out[0] = 0x60;
		su_put16(out + 4, SU_ICMP_HLEN + quote);
		out[6] = SU_IPPROTO_ICMPV6;
		out[7] = 64;
		su_memcpy(out + 8, pkt->daddr, 16);
		su_memcpy(out + 24, pkt->saddr, 16);
		icmp[0] = 2; /* packet too big */
		icmp[4] = (uint8_t)(mtu >> 24);
		icmp[5] = (uint8_t)(mtu >> 16);
		icmp[6] = (uint8_t)(mtu >> 8);
		icmp[7] = (uint8_t)mtu;
		return SU_IPV6_HLEN + SU_ICMP_HLEN;
	}
}

/* The sum the ICMP checksum starts from: nothing for ICMP, the pseudo-header for ICMPv6
 * (RFC 4443 2.3: addresses, upper-layer length, next header 58). */
SU_INLINE uint64_t su_icmp_seed(const struct su_ip *pkt, uint32_t icmp_len)
{
	if (pkt->family == SU_FAMILY_IPV4)
		return 0;
	{
		const uint8_t tail[8] = { (uint8_t)(icmp_len >> 24), (uint8_t)(icmp_len >> 16),
					  (uint8_t)(icmp_len >> 8), (uint8_t)icmp_len, 0, 0, 0,
					  SU_IPPROTO_ICMPV6 };

		return su_csum_add(su_csum_add(su_csum_add(0, pkt->daddr, 16), pkt->saddr, 16), tail, 8);
	}
}

/* Turns the frame in `b` into the answer for `pkt`, the datagram at pkt->l3 (the packet itself,
 * or the one unwrapped from GUE): the frame's link header (its first `l2` bytes, VLAN tags
 * included) with the MAC addresses swapped, the new IP and ICMP headers, and the datagram cut to
 * its quote. 0, or -1 when the frame cannot take it or is not what `pkt` says. */
SU_INLINE int su_icmp_too_big(struct su_buf *b, const struct su_ip *pkt, uint32_t l2, uint32_t mtu)
{
	uint8_t hdr[SU_IPV6_HLEN + SU_ICMP_HLEN], link[SU_L2_MAX];
	uint32_t max = pkt->family == SU_FAMILY_IPV4 ? SU_ICMP_QUOTE4 : SU_ICMP_QUOTE6;
	uint32_t quote = pkt->ip_len < max ? pkt->ip_len : max;
	uint32_t add = su_icmp_headers(pkt, quote, mtu, hdr);
	uint8_t *p, *icmp;
	uint16_t csum;

	if (l2 > SU_L2_MAX || l2 < SU_ETH_HLEN || pkt->l3 < l2)
		return -1;
	p = su_at(b, 0, SU_L2_MAX);
	if (!p)
		return -1;
	/* Destination and source swapped: back where the frame came from. */
	su_memcpy(link, p + 6, 6);
	su_memcpy(link + 6, p, 6);
	for (uint32_t i = 12; i < SU_L2_MAX; i++)
		link[i] = p[i];
	/* The new headers end where the datagram starts; the link header goes right before them
	 * (the outer headers of GUE, when it came in GUE, are dropped). */
	if (su_move_head(b, (int32_t)pkt->l3 - (int32_t)add - (int32_t)l2))
		return -1;
	if (su_set_len(b, l2 + add + quote))
		return -1;
	p = su_at(b, 0, SU_L2_MAX + SU_IPV6_HLEN + SU_ICMP_HLEN);
	if (!p)
		return -1;
	for (uint32_t i = 0; i < SU_L2_MAX; i++)
		if (i < l2)
			p[i] = link[i];
	/* The link header's last EtherType is the answer's family: an answer to a packet that came
	 * in GUE may be of the other family than the tunnel. */
	p = su_at(b, l2 - 2, 2);
	if (!p)
		return -1;
	su_put16(p, pkt->family == SU_FAMILY_IPV4 ? SU_ETH_P_IPV4 : SU_ETH_P_IPV6);
	p = su_at(b, l2, SU_IPV6_HLEN + SU_ICMP_HLEN);
	if (!p)
		return -1;
	if (add == SU_IPV4_HLEN + SU_ICMP_HLEN)
		su_memcpy(p, hdr, SU_IPV4_HLEN + SU_ICMP_HLEN);
	else
		su_memcpy(p, hdr, SU_IPV6_HLEN + SU_ICMP_HLEN);
	/* The checksum over the ICMP header (checksum field zero) and the quote, now in place. */
	csum = su_csum_finish(su_csum_range(b, l2 + add - SU_ICMP_HLEN, SU_ICMP_HLEN + quote,
					    su_csum_fold32(su_icmp_seed(pkt, SU_ICMP_HLEN + quote))));
	icmp = su_at(b, l2 + add - SU_ICMP_HLEN + 2, 2);
	if (!icmp)
		return -1;
	su_memcpy(icmp, &csum, 2);
	return 0;
}

#endif /* SU_CORE_ICMP_H */
