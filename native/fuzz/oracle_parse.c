/* The reference model's reading of a frame (model.h), from the header layouts of IEEE 802.1Q,
 * RFC 791, RFC 8200, RFC 768, RFC 793, RFC 792 and RFC 4443, and the rules the route counters
 * state (softunicast/abi.h). Written apart from native/core/parse.h on purpose: every read is
 * bounded by the datagram, never by a guess at what the core checks. */
#include <string.h>

#include "model.h"

#define ETH_HLEN 14
#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8

uint32_t fz_sum16(uint32_t sum, const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i + 1 < n; i += 2)
		sum += fz_get16(p + i);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

int fz_sum_ok(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/* ICMP types that quote the packet they are about: IPv4 destination unreachable, time exceeded,
 * parameter problem (RFC 792); ICMPv6 types 1-4 (RFC 4443 3). */
static int icmp_error_type(uint8_t family, uint8_t type)
{
	if (family == SU_FAMILY_IPV4)
		return type == 3 || type == 11 || type == 12;
	return type >= 1 && type <= 4;
}

/* An ICMP error at `icmp` (`len` bytes of datagram) about a TCP or UDP packet this address
 * sent: the quote's source is the error's destination, its ports (at least 4 bytes of them) are
 * ours, reversed. Anything else is ICMP for the kernel. */
static enum fz_read read_icmp(const uint8_t *f, uint32_t icmp, uint32_t len, struct fz_ip *ip)
{
	const uint8_t *q = f + icmp + 8;
	uint32_t qhl;
	uint8_t protocol;

	if (len < 8 || !icmp_error_type(ip->family, f[icmp]))
		return FZ_READ_UNPARSED;
	if (ip->family == SU_FAMILY_IPV4) {
		if (len < 8 + 20 || q[0] >> 4 != 4 || memcmp(q + 12, ip->daddr, 4) != 0)
			return FZ_READ_UNPARSED;
		qhl = (uint32_t)(q[0] & 15) * 4;
		/* A quoted later piece has no ports. */
		if (qhl < 20 || (fz_get16(q + 6) & 0x1fff))
			return FZ_READ_UNPARSED;
		protocol = q[9];
	} else {
		if (len < 8 + 40 || q[0] >> 4 != 6 || memcmp(q + 8, ip->daddr, 16) != 0)
			return FZ_READ_UNPARSED;
		qhl = 40;
		protocol = q[6];
	}
	if (len < 8 + qhl + 4 || (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP))
		return FZ_READ_UNPARSED;
	ip->protocol = protocol;
	ip->icmp_error = 1;
	ip->dport = (uint16_t)fz_get16(q + qhl);
	ip->sport = (uint16_t)fz_get16(q + qhl + 2);
	return FZ_READ_OK;
}

/* The transport header at `l4`, `len` bytes to the datagram's end, of `protocol`. */
static enum fz_read read_l4(const uint8_t *f, uint32_t l4, uint32_t len, uint8_t protocol,
			    struct fz_ip *ip)
{
	ip->l4 = l4;
	ip->l4_len = len;
	if (ip->fragment == FZ_FRAG_LATER) {
		/* No header here: it went with the first piece. */
		if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)
			return FZ_READ_UNPARSED;
		ip->protocol = protocol;
		return FZ_READ_OK;
	}
	if (protocol == (ip->family == SU_FAMILY_IPV4 ? IPPROTO_ICMP : IPPROTO_ICMPV6))
		return read_icmp(f, l4, len, ip);
	if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)
		return FZ_READ_UNPARSED;
	if (len < (protocol == IPPROTO_TCP ? 20u : 8u))
		return FZ_READ_MALFORMED;
	ip->protocol = protocol;
	ip->sport = (uint16_t)fz_get16(f + l4);
	ip->dport = (uint16_t)fz_get16(f + l4 + 2);
	return FZ_READ_OK;
}

/* IPv4 options (RFC 791 3.1) as Linux's ip_options_compile walks them: end of list (0) stops,
 * no-operation (1) is one byte, every other option has a length byte counting itself and the
 * type; loose (131) or strict (137) source route is what the kernel would follow. */
static uint8_t ipv4_source_route(const uint8_t *opt, uint32_t len)
{
	for (uint32_t i = 0; i < len;) {
		uint32_t optlen;

		if (opt[i] == 0)
			return FZ_SR_NO;
		if (opt[i] == 1) {
			i++;
			continue;
		}
		if (len - i < 2 || (optlen = opt[i + 1]) < 2 || optlen > len - i)
			return FZ_SR_EITHER; /* the kernel drops the packet: no relay either way */
		if (opt[i] == 131 || opt[i] == 137)
			return FZ_SR_YES;
		i += optlen;
	}
	return FZ_SR_NO;
}

static enum fz_read read_ipv4(const uint8_t *f, uint32_t l3, uint32_t avail, struct fz_ip *ip)
{
	const uint8_t *p = f + l3;
	uint32_t ihl, total, frag;

	if (avail < 20 || p[0] >> 4 != 4)
		return FZ_READ_UNPARSED;
	ip->addrs = 1;
	ip->family = SU_FAMILY_IPV4;
	ip->l3 = l3;
	memcpy(ip->saddr, p + 12, 4);
	memcpy(ip->daddr, p + 16, 4);
	ihl = (uint32_t)(p[0] & 15) * 4;
	total = fz_get16(p + 2);
	if (ihl < 20 || total < ihl || total > avail)
		return FZ_READ_MALFORMED;
	ip->ip_len = total;
	frag = fz_get16(p + 6);
	/* Offset set: a later piece; MF alone: the first; neither: a whole datagram. */
	ip->fragment = (frag & 0x1fff) ? FZ_FRAG_LATER : (frag & 0x2000) ? FZ_FRAG_FIRST :
									  FZ_FRAG_NONE;
	ip->frag_id = fz_get16(p + 4);
	ip->df = (frag & 0x4000) != 0;
	ip->sr = ipv4_source_route(p + 20, ihl - 20);
	return read_l4(f, l3 + ihl, total - ihl, p[9], ip);
}

static int ipv6_extension(uint8_t next)
{
	return next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING ||
	       next == IPPROTO_DSTOPTS || next == IPPROTO_FRAGMENT;
}

static enum fz_read read_ipv6(const uint8_t *f, uint32_t l3, uint32_t avail, struct fz_ip *ip)
{
	const uint8_t *p = f + l3;
	uint32_t end, at, count = 0;
	uint8_t next;

	if (avail < 40 || p[0] >> 4 != 6)
		return FZ_READ_UNPARSED;
	ip->addrs = 1;
	ip->family = SU_FAMILY_IPV6;
	ip->l3 = l3;
	memcpy(ip->saddr, p + 8, 16);
	memcpy(ip->daddr, p + 24, 16);
	/* Payload length 0 is a jumbogram (RFC 2675), which Ethernet never carries. */
	if (fz_get16(p + 4) == 0 || 40 + fz_get16(p + 4) > avail)
		return FZ_READ_MALFORMED;
	ip->ip_len = 40 + fz_get16(p + 4);
	end = l3 + ip->ip_len;
	at = l3 + 40;
	next = p[6];
	while (ipv6_extension(next)) {
		const uint8_t *e = f + at;

		if (count++ == FZ_EXT_MAX)
			return FZ_READ_CHAIN;
		if (end - at < 8)
			return FZ_READ_MALFORMED;
		if (next == IPPROTO_FRAGMENT) {
			uint32_t word = fz_get16(e + 2);

			/* RFC 8200 4.5; offset 0 without M is an atomic fragment (RFC 6946): whole. */
			if (word & 0xfff8)
				ip->fragment = FZ_FRAG_LATER;
			else if (word & 1)
				ip->fragment = FZ_FRAG_FIRST;
			ip->frag_id = fz_get32(e + 4);
			next = e[0];
			at += 8;
			if (ip->fragment == FZ_FRAG_LATER)
				break; /* what follows is payload */
			continue;
		}
		/* A routing header with segments left sends the packet on (RFC 8200 4.4). */
		if (next == IPPROTO_ROUTING && e[3] != 0)
			ip->sr = FZ_SR_YES;
		if (end - at < ((uint32_t)e[1] + 1) * 8)
			return FZ_READ_MALFORMED;
		at += ((uint32_t)e[1] + 1) * 8;
		next = e[0];
	}
	return read_l4(f, at, end - at, next, ip);
}

enum fz_read fz_read_ip(const uint8_t *frame, uint32_t l3, uint32_t avail, uint8_t family,
			struct fz_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (family == SU_FAMILY_IPV4)
		return read_ipv4(frame, l3, avail, ip);
	if (family == SU_FAMILY_IPV6)
		return read_ipv6(frame, l3, avail, ip);
	return FZ_READ_UNPARSED;
}

enum fz_read fz_read_frame(const uint8_t *frame, uint32_t len, struct fz_ip *ip)
{
	uint32_t at = ETH_HLEN, type;

	memset(ip, 0, sizeof(*ip));
	if (len < ETH_HLEN)
		return FZ_READ_UNPARSED;
	type = fz_get16(frame + 12);
	/* 802.1ad and 802.1Q tags, two at most (QinQ): TCI, then the next EtherType. */
	for (int tags = 0; tags < 2 && (type == ETH_P_8021Q || type == ETH_P_8021AD); tags++) {
		if (len - at < 4)
			return FZ_READ_UNPARSED;
		type = fz_get16(frame + at + 2);
		at += 4;
	}
	if (type == ETH_P_IPV4)
		return fz_read_ip(frame, at, len - at, SU_FAMILY_IPV4, ip);
	if (type == ETH_P_IPV6)
		return fz_read_ip(frame, at, len - at, SU_FAMILY_IPV6, ip);
	return FZ_READ_UNPARSED;
}
