/* GUE decapsulation for the XDP program (bpf/steer.bpf.c): finds the inner packet of a GUE
 * datagram (draft-ietf-intarea-gue-09), verifies the outer checksums and strips the outer headers.
 * Whom to decapsulate for (host address, trusted peers, local slices) is steer.bpf.c's decision. */
#ifndef SU_BPF_GUE_H
#define SU_BPF_GUE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <softunicast/abi.h>

#include "csum.h"
#include "parse.h"

/* Variant 0's first word (draft section 3.1); byte 0 is read through the SU_GUE_* macros. */
struct su_gue0_hdr {
	__u8 byte0;
	__u8 proto;
	__be16 flags;
};

/* Parses the GUE header behind the outer UDP header and the inner packet behind that into
 * *inner, and sets *inner_off to the inner IP header's offset. Returns 0 for a datagram we can
 * decapsulate: variant 0 data (C = 0) with no flags and Proto 4 or 41 naming the inner version,
 * its Hlen words skipped unread (draft 3.4), or variant 1 with an IPv4 or IPv6 packet; the inner
 * packet is TCP or UDP as su_parse() accepts it. Anything else returns -1. */
static __always_inline int su_gue_parse(void *data, void *data_end, const struct su_pkt *outer,
					struct su_pkt *inner, __u32 *inner_off)
{
	/* Masked, not compared: clang 14 turns `l4_off > 0x7fff` on a u16 into a sign test of a
	 * copy, and the verifier never learns the bound of the register used afterwards. The mask
	 * changes no offset the parser produces (SU_PARSE_OFF_MAX). */
	__u32 l4_off = outer->l4_off & SU_PARSE_OFF_MAX;
	struct udphdr *udp = data + l4_off;
	struct su_gue0_hdr *gue;
	__u32 udp_len, off, l3_len;
	__u8 version, l4proto;
	void *cur;

	__builtin_memset(inner, 0, sizeof(*inner));
	/* A fragment holds part of the datagram: decapsulated, the kernel would get a piece of the
	 * inner packet. Behind a routing header the checksum's pseudo-header names the final
	 * destination (RFC 8200 8.1), which the parser did not read. The fast path decides both. */
	if (outer->flags & (SU_PKT_FRAGMENT | SU_PKT_ROUTED))
		return -1;
	if ((void *)(udp + 1) > data_end)
		return -1;
	udp_len = bpf_ntohs(udp->len);
	if (udp_len <= sizeof(*udp) || (void *)udp + udp_len > data_end)
		return -1;

	gue = (void *)(udp + 1);
	if ((void *)gue + 1 > data_end)
		return -1;
	off = l4_off + sizeof(*udp);
	switch (SU_GUE_VARIANT(gue->byte0)) {
	case 0:
		if ((void *)(gue + 1) > data_end)
			return -1;
		/* Control messages and flags we do not implement (draft 5.4) go to the fast path,
		 * which drops and counts them. */
		if (SU_GUE_CONTROL(gue->byte0) || gue->flags)
			return -1;
		if (gue->proto == SU_GUE_PROTO_IPV4)
			version = 4;
		else if (gue->proto == SU_GUE_PROTO_IPV6)
			version = 6;
		else
			return -1;
		off += SU_GUE_V0_HEADER_LEN + SU_GUE_HLEN(gue->byte0) * 4;
		break;
	case 1:
		/* No header: the first nibble is the IP version (draft section 4). */
		version = gue->byte0 >> 4;
		break;
	default:
		return -1; /* 2 and 3 are reserved */
	}
	if (off >= l4_off + udp_len)
		return -1;

	inner->l3_off = off;
	if (version == 4)
		cur = su_parse_ipv4(data + off, data_end, inner, &l4proto, &l3_len);
	else if (version == 6)
		cur = su_parse_ipv6(data + off, data_end, inner, &l4proto, &l3_len);
	else
		return -1;
	if (!cur)
		return -1;
	inner->l4_off = off + l3_len;
	if (su_parse_l4(cur, data_end, l4proto, inner))
		return -1;
	*inner_off = off;
	return 0;
}

/* Whether the outer checksums hold: the IPv4 header's, and the UDP checksum, which a
 * decapsulator MUST verify when it is not zero (draft 5.8, RFC 8085). Zero means "none" and is
 * accepted over IPv4; over IPv6 it is allowed only where configured (RFC 6936), so we leave such
 * packets to the fast path. */
static __always_inline int su_gue_checksums_ok(struct xdp_md *ctx, const struct su_pkt *outer)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l4_off = outer->l4_off & SU_PARSE_OFF_MAX; /* as in su_gue_parse */
	struct udphdr *udp = data + l4_off;
	__be16 udp_len, check;
	__u32 seed;

	if ((void *)(udp + 1) > data_end)
		return 0;
	/* Read before the first call: the verifier forgets packet bounds across global calls. */
	udp_len = udp->len;
	check = udp->check;
	if (outer->family == SU_FAMILY_IPV4) {
		struct {
			__u8 saddr[4];
			__u8 daddr[4];
			__u8 zero;
			__u8 proto;
			__be16 len;
		} ph;

		if (su_csum_packet(ctx, outer->l3_off, l4_off - outer->l3_off, 0) != 0xffff)
			return 0;
		if (check == 0)
			return 1;
		__builtin_memcpy(ph.saddr, outer->saddr, sizeof(ph.saddr));
		__builtin_memcpy(ph.daddr, outer->daddr, sizeof(ph.daddr));
		ph.zero = 0;
		ph.proto = IPPROTO_UDP;
		ph.len = udp_len;
		seed = su_csum_stack(&ph, sizeof(ph));
	} else {
		struct {
			__u8 saddr[16];
			__u8 daddr[16];
			__be32 len;
			__u8 zero[3];
			__u8 next;
		} ph;

		if (check == 0)
			return 0;
		__builtin_memcpy(ph.saddr, outer->saddr, sizeof(ph.saddr));
		__builtin_memcpy(ph.daddr, outer->daddr, sizeof(ph.daddr));
		ph.len = bpf_htonl(bpf_ntohs(udp_len));
		__builtin_memset(ph.zero, 0, sizeof(ph.zero));
		ph.next = IPPROTO_UDP;
		seed = su_csum_stack(&ph, sizeof(ph));
	}
	return su_csum_packet(ctx, l4_off, bpf_ntohs(udp_len), seed) == 0xffff;
}

/* Replaces everything before the inner IP header with an Ethernet header: the received frame's
 * destination and source MAC addresses, the inner family's EtherType, no VLAN tags (the tags
 * belonged to the outer path). Returns 0, or -1 when the kernel refused to move the head (the
 * frame is then unchanged). */
static __always_inline int su_gue_decap(struct xdp_md *ctx, __u32 inner_off, __u8 inner_family)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 macs[2 * ETH_ALEN];

	if ((void *)(eth + 1) > data_end || inner_off < sizeof(*eth))
		return -1;
	__builtin_memcpy(macs, eth, sizeof(macs));
	if (bpf_xdp_adjust_head(ctx, (int)(inner_off - sizeof(*eth))))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	/* Cannot fail: the kernel keeps at least ETH_HLEN bytes after the new head, and the inner IP
	 * header is longer still. The check is for the verifier. */
	if ((void *)(eth + 1) > data_end)
		return -1;
	__builtin_memcpy(eth, macs, sizeof(macs));
	eth->h_proto = bpf_htons(inner_family == SU_FAMILY_IPV4 ? ETH_P_IP : ETH_P_IPV6);
	return 0;
}

#endif /* SU_BPF_GUE_H */
