/* Packet parsing of the fast path: Ethernet with up to two VLAN tags, IPv4 or IPv6 with
 * extension headers, then the TCP or UDP ports, or those an ICMP error quotes. Bounded loops and explicit length checks only:
 * every header is checked to lie inside the frame and inside the IP datagram before it is read.
 * Used by route.c and gue.c. */
#ifndef SU_CORE_PARSE_H
#define SU_CORE_PARSE_H

#include <stdint.h>

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
};

/* Parses the IP datagram at `p`, of which `avail` bytes are present (anything after the
 * datagram's own length is padding), expecting IP version `family`. SU_PARSE_OK, or the fate:
 * drop_fragment for any IPv4 fragment or IPv6 fragment header other than an atomic fragment,
 * drop_malformed for anything truncated, inconsistent, or neither TCP, UDP nor an ICMP error
 * quoting one of them from this datagram's destination. */
enum su_route_counter su_parse_ip(const uint8_t *p, uint32_t avail, uint8_t family,
				  struct su_ip *out);

/* Parses an Ethernet frame of `len` bytes down to the ports. On SU_PARSE_OK, *l2_len is the
 * Ethernet header's length including VLAN tags. */
enum su_route_counter su_parse_frame(const uint8_t *frame, uint32_t len, uint32_t *l2_len,
				     struct su_ip *out);

#endif /* SU_CORE_PARSE_H */
