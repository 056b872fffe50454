/* What parsing finds in a frame (struct su_ip), the one type every stage of the core passes on:
 * parse.h fills it, lookup.h, gue.h, frags.h and route.h read it. Kept apart from the parser so
 * that code which only keys on a datagram (the workers' fragment table) needs no parser. */
#ifndef SU_CORE_IP_H
#define SU_CORE_IP_H

#include "target.h"
#include "wire.h"

/* Returned by the parsers on success: one past the last route counter, never a fate. */
#define SU_PARSE_OK SU_ROUTE_COUNTER_COUNT

#define SU_FRAGMENT_NONE 0
#define SU_FRAGMENT_FIRST 1 /* the first piece: it has the ports */
#define SU_FRAGMENT_LATER 2 /* a later piece: no ports, only frag_id to find its first */

/* Facts about a datagram beyond its addresses and ports (struct su_ip.flags). */
#define SU_IP_ICMP_ERROR (1u << 0)     /* protocol and ports are the quoted packet's, reversed */
#define SU_IP_SOURCE_ROUTED (1u << 1)  /* IPv4 LSRR/SSRR, or an IPv6 routing header with
					* segments left: the kernel would send it on */
#define SU_IP_LONG_CHAIN (1u << 2)     /* IPv6 extension headers past SU_IPV6_EXT_MAX */
#define SU_IP_DONT_FRAGMENT (1u << 3)  /* IPv4 DF: the sender does path MTU discovery */

/* An IP datagram with its TCP or UDP header. Offsets count from the frame's first byte. */
struct su_ip {
	uint16_t l3;     /* the IP header */
	uint16_t l4;     /* the TCP/UDP header; an ICMP error's ICMP header; a later piece's data */
	uint16_t ip_len; /* the datagram's length as its header says (IPv6: 40 + payload) */
	uint16_t l4_len; /* bytes from l4 to the end of the datagram */
	uint16_t sport;  /* host order; an ICMP error's are the quoted packet's, reversed, so that */
	uint16_t dport;  /* dport is the port of ours that picks the slice */
	uint8_t family;  /* SU_FAMILY_IPV4 or SU_FAMILY_IPV6 */
	uint8_t protocol; /* SU_IPPROTO_TCP or SU_IPPROTO_UDP */
	uint8_t fragment; /* SU_FRAGMENT_* */
	uint8_t flags;    /* SU_IP_* */
	uint32_t frag_id; /* IPv4 identification, IPv6 fragment identification */
	/* Copies, 4 or 16 bytes, network order, the rest zero: the lookup and the flow hash read
	 * them after the packet has moved. */
	uint8_t saddr[16];
	uint8_t daddr[16];
};

#endif /* SU_CORE_IP_H */
