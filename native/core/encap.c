/* Forwarding records (tables.h, struct su_fwd): per owner of a table, the fates and, for GUE,
 * the outer headers as they will be sent (draft-ietf-intarea-gue-09 sections 3 and 4, RFC 791,
 * RFC 8200, RFC 768), with what does not depend on the packet summed in advance. Built once per
 * table by view.c, in user space; the XDP program reads the same records from a map. */
#include <string.h>

#include "encap.h"
#include "wire.h"

#define SU_IPV4_DF 0x4000 /* "don't fragment" in the flags/offset word (RFC 791 3.1) */

/* Bytes of GUE header the encapsulation to `owner` writes after UDP: variant 0's first word,
 * and for GLB its private word (the hops, if any, are the packet's: su_glb_write). */
static uint32_t gue_len(const struct su_owner *owner)
{
	if (owner->encap == SU_ENCAP_GLB)
		return SU_GUE_V0_HEADER_LEN + SU_GLB_PRIVATE_LEN;
	return owner->encap == SU_ENCAP_GUE0 ? SU_GUE_V0_HEADER_LEN : 0;
}

/* Bytes the encapsulation to `owner` writes: Ethernet, outer IPv4 or IPv6, UDP, GUE header. */
static uint32_t encap_len(const struct su_owner *owner)
{
	return SU_ETH_HLEN + (owner->family == SU_FAMILY_IPV4 ? SU_IPV4_HLEN : SU_IPV6_HLEN) +
	       SU_UDP_HLEN + gue_len(owner);
}

/* The GUE headers of `f` from `host` to `owner`'s endpoint. */
static void prepare_gue(const struct su_host *host, const struct su_owner *owner, struct su_fwd *f)
{
	uint8_t *hdr = f->hdr[0], *ip = hdr + SU_ETH_HLEN, *udp;
	uint32_t sum = 0;

	f->hdr_len = (uint8_t)encap_len(owner);
	f->udp_extra = (uint8_t)(SU_UDP_HLEN + gue_len(owner));
	memcpy(hdr, owner->next_hop_mac, 6);
	memcpy(hdr + 6, host->mac, 6);
	if (owner->family == SU_FAMILY_IPV4) {
		su_put16(hdr + 12, SU_ETH_P_IPV4);
		ip[0] = 0x45; /* version 4, IHL 5: no options */
		ip[1] = 0;    /* DSCP/ECN; total length (2-3) and checksum (10-11) per packet */
		su_put16(ip + 4, 0); /* identification: unused, DF forbids fragmenting (RFC 6864 4.1) */
		su_put16(ip + 6, SU_IPV4_DF);
		ip[8] = SU_GUE_OUTER_TTL;
		ip[9] = SU_IPPROTO_UDP;
		memcpy(ip + 12, host->ipv4, 4);
		memcpy(ip + 16, owner->endpoint, 4);
		/* The header's sum with the length of the outer headers, folded (RFC 1071): never
		 * zero (0x4500). Each packet adds its datagram's length. */
		for (int i = 0; i < SU_IPV4_HLEN; i += 2)
			sum += su_get16(ip + i);
		sum += SU_IPV4_HLEN + f->udp_extra;
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		f->csum = sum;
		f->ipv4 = 1;
		udp = ip + SU_IPV4_HLEN;
	} else {
		const uint8_t next_header[8] = { 0, 0, 0, 0, 0, 0, 0, SU_IPPROTO_UDP };

		su_put16(hdr + 12, SU_ETH_P_IPV6);
		ip[0] = 0x60; /* version 6, traffic class 0, flow label 0 */
		ip[1] = ip[2] = ip[3] = 0; /* payload length (4-5) per packet */
		ip[6] = SU_IPPROTO_UDP;
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
	su_put16(udp + 2, owner->gue_port);
	if (owner->encap == SU_ENCAP_GLB) {
		/* GLB's header with an empty hop list (src/lb/hop-list.ts): Hlen 1 (the private
		 * word), C = 0, no flags; private type 0, next hop index 0 (the director writes
		 * 0: the backend tries hop 0 first), hop count 0. A hop, when the packet has one,
		 * raises Hlen and the count (su_glb_write). */
		udp[8] = 1;
	}
	/* The same for an inner IPv6 datagram, but for variant 0's header: C = 0, Hlen = 0 (1 for
	 * GLB), no flags, Proto the inner family's protocol. */
	memcpy(f->hdr[1], hdr, sizeof(f->hdr[1]));
	if (owner->encap == SU_ENCAP_GUE0 || owner->encap == SU_ENCAP_GLB) {
		udp[9] = SU_GUE_PROTO_IPV4;
		f->hdr[1][udp - hdr + 9] = SU_GUE_PROTO_IPV6;
	}
}

/* The route counter of a packet for `o` arriving from `from` (route.h's SU_FROM_*), whatever
 * the packet: the forward, or the drop that applies to every packet. Loops are ruled out here:
 * from a server of this data centre only this host's slices are taken; from another data
 * centre, no data centre's. An owner this host cannot send to is dropped before the packet's
 * size is looked at. */
static uint8_t fate_of(const struct su_host *host, const struct su_owner *o, int from)
{
	if (o->kind == SU_OWNER_LOCAL)
		return SU_ROUTE_pass_local;
	if (from == SU_FROM_SERVER)
		return SU_ROUTE_drop_loop_server;
	if (from == SU_FROM_DC && o->kind == SU_OWNER_DATACENTER)
		return SU_ROUTE_drop_loop;
	if (!(o->flags & SU_OWNER_NEXT_HOP_KNOWN))
		return SU_ROUTE_drop_no_neighbour;
	if (o->encap == SU_ENCAP_L2)
		return SU_ROUTE_forward_server_l2;
	if (o->family == SU_FAMILY_IPV4 ? !(host->flags & SU_HOST_HAS_IPV4) :
					  !(host->flags & SU_HOST_HAS_IPV6))
		return SU_ROUTE_drop_no_source;
	return o->kind == SU_OWNER_SERVER ? SU_ROUTE_forward_server_gue : SU_ROUTE_encap_datacenter;
}

void su_fwd_prepare(const struct su_host *host, const struct su_owner *o, struct su_fwd *f)
{
	memset(f, 0, sizeof(*f));
	f->kind = o->kind;
	f->fate = fate_of(host, o, SU_FROM_WIRE);
	f->fate_from_dc = fate_of(host, o, SU_FROM_DC);
	f->fate_from_server = fate_of(host, o, SU_FROM_SERVER);
	if (o->kind == SU_OWNER_SERVER && o->encap == SU_ENCAP_GLB) {
		/* Whether or not this host can send to it: as a row's secondary it is only named. */
		f->glb = 1;
		memcpy(f->glb_addr, o->endpoint, 4);
	}
	if (f->fate == SU_ROUTE_forward_server_l2) {
		/* The MTU counts the IP packet: VLAN tags and padding are not part of it. */
		f->max_ip_len = host->mtu;
		memcpy(f->hdr[0], o->next_hop_mac, 6);
		memcpy(f->hdr[0] + 6, host->mac, 6);
	} else if (SU_ROUTE_TRANSMITS(f->fate)) {
		prepare_gue(host, o, f);
		/* Never truncate, never fragment: the outer IP packet must fit the MTU. */
		f->max_ip_len = host->mtu + SU_ETH_HLEN > f->hdr_len ?
					host->mtu + SU_ETH_HLEN - f->hdr_len : 0;
	}
}
