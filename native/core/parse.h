/* Packet parsing of the fast path: Ethernet with up to two VLAN tags, IPv4 or IPv6 with
 * extension headers, then the TCP or UDP ports, or those an ICMP error quotes. Bounded loops and explicit length checks only:
 * every header is checked to lie inside the frame and inside the IP datagram before it is read.
 * Used by route.c and gue.c. */
#ifndef SU_CORE_PARSE_H
#define SU_CORE_PARSE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "softunicast/abi.h"

/* 802.1ad outer tag + 802.1Q inner tag (QinQ) is the deepest stacking we accept (as bpf/parse.h). */
#define SU_VLAN_TAGS_MAX 2
/* Extension headers walked before giving up (as bpf/parse.h): RFC 8200 4.1 lists at most one of
 * each, destination options twice. */
#define SU_IPV6_EXT_MAX 8

#define SU_ETH_HLEN 14
#define SU_IPV4_HLEN 20 /* without options */
#define SU_IPV6_HLEN 40
#define SU_UDP_HLEN 8
#define SU_TCP_HLEN 20 /* without options: all we read is the ports */

/* Returned by the parsers on success: one past the last route counter, never a fate. */
#define SU_PARSE_OK SU_ROUTE_COUNTER_COUNT

/* An IP datagram with its TCP or UDP header. Pointers point into the packet. */
struct su_ip {
	const uint8_t *ip;    /* first byte of the IP header */
	uint32_t ip_len;      /* the datagram's length as its header says (total / 40 + payload) */
	const uint8_t *saddr; /* 4 or 16 bytes, network order */
	const uint8_t *daddr;
	const uint8_t *l4;    /* first byte of the TCP or UDP header */
	uint32_t l4_len;      /* bytes from l4 to the end of the datagram */
	uint16_t sport;       /* host order */
	uint16_t dport;
	uint8_t family;       /* SU_FAMILY_IPV4 or SU_FAMILY_IPV6 */
	uint8_t protocol;     /* IPPROTO_TCP or IPPROTO_UDP */
	/* An ICMP error about a packet this address sent: `protocol`, `sport` and `dport` are the
	 * quoted packet's, reversed (dport is its source port: ours, the one that picks the
	 * slice); `l4` is the ICMP header. */
	uint8_t icmp_error;
	/* SU_FRAGMENT_*: a piece of a larger datagram. The first piece has its ports; a later one
	 * has none (sport and dport 0, l4 at its payload), only `frag_id` to find its first. */
	uint8_t fragment;
	uint32_t frag_id; /* IPv4 identification or IPv6 fragment header identification */
};

#define SU_FRAGMENT_NONE 0
#define SU_FRAGMENT_FIRST 1
#define SU_FRAGMENT_LATER 2

/* Parses the IP datagram at `p`, of which `avail` bytes are present (anything after the
 * datagram's own length is padding), expecting IP version `family`. SU_PARSE_OK, or the fate:
 * drop_malformed for anything truncated, inconsistent, or neither TCP, UDP nor an ICMP error
 * quoting one of them from this datagram's destination. Fragments parse: the first with its
 * ports, later ones (TCP or UDP only) with `fragment` SU_FRAGMENT_LATER and no ports. */
enum su_route_counter su_parse_ip(const uint8_t *p, uint32_t avail, uint8_t family,
				  struct su_ip *out);

/* Parses an Ethernet frame of `len` bytes down to the ports. On SU_PARSE_OK, *l2_len is the
 * Ethernet header's length including VLAN tags. */
enum su_route_counter su_parse_frame(const uint8_t *frame, uint32_t len, uint32_t *l2_len,
				     struct su_ip *out);

/* su_parse_frame without its inline fast path: every frame, every case. */
enum su_route_counter su_parse_frame_full(const uint8_t *frame, uint32_t len, uint32_t *l2_len,
					  struct su_ip *out);

static inline uint32_t su_get16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

/* Two bytes as they lie, for comparing with a constant in network order (htons). */
static inline uint16_t su_load16(const uint8_t *p)
{
	uint16_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/* The minimum length of an IP payload that is a whole `protocol` header: TCP or UDP; anything
 * else gets a length no datagram has. */
static inline uint32_t su_parse_l4_min(uint8_t protocol)
{
	if (protocol == IPPROTO_UDP)
		return SU_UDP_HLEN;
	return protocol == IPPROTO_TCP ? SU_TCP_HLEN : 0x10000;
}

static inline void su_parse_fill(const uint8_t *ip, uint32_t ip_len, uint8_t family,
				 uint8_t protocol, const uint8_t *l4, struct su_ip *out)
{
	out->ip = ip;
	out->ip_len = ip_len;
	out->l4 = l4;
	out->l4_len = ip_len - (uint32_t)(l4 - ip);
	out->sport = (uint16_t)su_get16(l4);
	out->dport = (uint16_t)su_get16(l4 + 2);
	out->family = family;
	out->protocol = protocol;
	out->icmp_error = 0;
	out->fragment = SU_FRAGMENT_NONE;
}

/* The common frames, parsed inline by the fast path with the checks that make them so, each
 * into `out` (with an Ethernet header of 14 bytes) or nothing: the same result as
 * su_parse_frame_full, which handles everything else (tags, options, extension headers,
 * fragments, ICMP errors) and decides the fate of malformed frames.
 *
 * Untagged IPv4 without options (version 4, IHL 5), neither MF nor an offset, the datagram
 * within the frame and long enough for its TCP or UDP header. */
static inline int su_parse_ipv4_fast(const uint8_t *frame, uint32_t len, struct su_ip *out)
{
	const uint8_t *ip = frame + SU_ETH_HLEN;
	uint32_t total;

	if (len < SU_ETH_HLEN + SU_IPV4_HLEN + SU_UDP_HLEN ||
	    su_load16(frame + 12) != htons(0x0800) || ip[0] != 0x45 ||
	    (su_load16(ip + 6) & htons(0x3fff)))
		return 0;
	total = su_get16(ip + 2);
	if (total > len - SU_ETH_HLEN || total < SU_IPV4_HLEN + su_parse_l4_min(ip[9]))
		return 0;
	su_parse_fill(ip, total, SU_FAMILY_IPV4, ip[9], ip + SU_IPV4_HLEN, out);
	out->saddr = ip + 12;
	out->daddr = ip + 16;
	out->frag_id = su_get16(ip + 4);
	return 1;
}

/* Untagged IPv6 with TCP or UDP right after the header, the payload within the frame and long
 * enough for that header. */
static inline int su_parse_ipv6_fast(const uint8_t *frame, uint32_t len, struct su_ip *out)
{
	const uint8_t *ip = frame + SU_ETH_HLEN;
	uint32_t payload;

	if (len < SU_ETH_HLEN + SU_IPV6_HLEN + SU_UDP_HLEN ||
	    su_load16(frame + 12) != htons(0x86dd) || ip[0] >> 4 != 6)
		return 0;
	payload = su_get16(ip + 4);
	if (payload > len - SU_ETH_HLEN - SU_IPV6_HLEN || payload < su_parse_l4_min(ip[6]))
		return 0;
	su_parse_fill(ip, SU_IPV6_HLEN + payload, SU_FAMILY_IPV6, ip[6], ip + SU_IPV6_HLEN, out);
	out->saddr = ip + 8;
	out->daddr = ip + 24;
	out->frag_id = 0;
	return 1;
}

#endif /* SU_CORE_PARSE_H */
