/* Header lengths, protocol numbers and EtherTypes of the wire formats the core reads and writes
 * (RFC 791, RFC 8200, RFC 768, RFC 793, IEEE 802.1Q): constants only, so that code which builds
 * headers in user space (encap.c) or checks tables (view_check.c) names them without the parser. */
#ifndef SU_CORE_WIRE_H
#define SU_CORE_WIRE_H

#define SU_ETH_HLEN 14
#define SU_IPV4_HLEN 20 /* without options */
#define SU_IPV6_HLEN 40
#define SU_UDP_HLEN 8
#define SU_TCP_HLEN 20 /* without options: all we read is the ports */
#define SU_ICMP_HLEN 8

#define SU_IPPROTO_HOPOPTS 0
#define SU_IPPROTO_ICMP 1
#define SU_IPPROTO_TCP 6
#define SU_IPPROTO_UDP 17
#define SU_IPPROTO_ROUTING 43
#define SU_IPPROTO_FRAGMENT 44
#define SU_IPPROTO_ICMPV6 58
#define SU_IPPROTO_DSTOPTS 60

#define SU_ETH_P_IPV4 0x0800
#define SU_ETH_P_IPV6 0x86dd
#define SU_ETH_P_8021Q 0x8100
#define SU_ETH_P_8021AD 0x88a8

#endif /* SU_CORE_WIRE_H */
