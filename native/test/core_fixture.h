/* Shared by the C tests of native/core (core_*_test.c): fate names, the routing tests' table
 * (owners by index) and packets built field by field, checksums recomputed independently. */
#ifndef SU_TEST_CORE_FIXTURE_H
#define SU_TEST_CORE_FIXTURE_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "softunicast/core.h"
#include "../core/frags.h"

#include "image.h"
#include "tap.h"

static const char *fate_names[] __attribute__((unused)) = {
#define SU_X(name, doc) #name,
	SU_ROUTE_COUNTERS(SU_X)
#undef SU_X
};

static inline const char *fate_name(enum su_route_counter c)
{
	return (unsigned)c < SU_ROUTE_COUNTER_COUNT ? fate_names[c] : "(not a fate)";
}

/* The owners of the routing tests, by index. */
enum {
	O_LOCAL,
	O_L2,         /* server on this segment */
	O_SRV_GUE1_4, /* server, GUE variant 1 over IPv4 */
	O_SRV_GUE0_6, /* server, GUE variant 0 over IPv6 */
	O_DC_GUE0_4,  /* data centre, variant 0 over IPv4 */
	O_DC_GUE0_6,  /* data centre, variant 0 over IPv6 */
	O_NO_MAC,     /* server whose next hop is unresolved */
	O_COUNT
};

/* The routing tests' table. Slices of 198.51.100.10 (UDP and TCP) and 2001:db8:100::10:
 *   ports 1000-1999 local, 2000-2999 L2 server, 3000-3999 GUE1 server, 4000-4999 GUE0 v6 server,
 *   5000-5999 data centre v4, 6000-6999 data centre v6, 7000-7999 server without MAC. */
static inline void routing_table(struct img *m)
{
	img_init(m);
	add_trusted(m, 4, "203.0.113.0", 24);
	add_trusted(m, 6, "2001:db8:aaaa::", 48);
	add_owner(m, SU_OWNER_LOCAL, 0, SU_FAMILY_NONE, NULL, 0);
	add_owner(m, SU_OWNER_SERVER, SU_ENCAP_L2, SU_FAMILY_NONE, NULL, 0x22);
	add_owner(m, SU_OWNER_SERVER, SU_ENCAP_GUE1, 4, "10.0.0.3", 0x33);
	add_owner(m, SU_OWNER_SERVER, SU_ENCAP_GUE0, 6, "2001:db8:ffff::4", 0x44);
	add_owner(m, SU_OWNER_DATACENTER, SU_ENCAP_GUE0, 4, "203.0.113.5", 0x55);
	add_owner(m, SU_OWNER_DATACENTER, SU_ENCAP_GUE0, 6, "2001:db8:aaaa::6", 0x66);
	add_owner(m, SU_OWNER_SERVER, SU_ENCAP_GUE1, 4, "10.0.0.7", 0);
	m->owners[O_SRV_GUE0_6].gue_port = 7777;
	for (int f = 0; f < 2; f++) {
		for (int p = 0; p < 2; p++) {
			add_key(m, f ? 6 : 4, f ? "2001:db8:100::10" : "198.51.100.10", f ? 128 : 32,
				p ? IPPROTO_TCP : IPPROTO_UDP);
			for (uint32_t o = 0; o < O_COUNT; o++)
				add_range(m, (uint16_t)(1000 * (o + 1)), (uint16_t)(1000 * (o + 1) + 999),
					  o);
		}
	}
}


/* ---- Packets ----------------------------------------------------------------------------- */

#define HEADROOM 256

struct pkt {
	uint8_t buf[HEADROOM + 4096];
	uint8_t *data;
	uint32_t len;
};

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* An independent checksum: big-endian 16-bit words summed one by one (RFC 1071 as written). */
static inline uint16_t ref_sum(uint32_t sum, const uint8_t *p, uint32_t len)
{
	for (uint32_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static inline uint16_t ref_csum(const uint8_t *p, uint32_t len)
{
	return (uint16_t)~ref_sum(0, p, len);
}

static inline uint32_t put_eth(uint8_t *p, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	put16(p + 12, type);
	return 14;
}

/* A TCP or UDP header plus `payload` bytes of a pattern. */
static inline uint32_t put_l4(uint8_t *p, uint8_t protocol, uint16_t sport, uint16_t dport,
		       uint32_t payload)
{
	uint32_t hlen = protocol == IPPROTO_TCP ? 20 : 8;

	memset(p, 0, hlen);
	put16(p, sport);
	put16(p + 2, dport);
	if (protocol == IPPROTO_TCP) {
		p[12] = 5 << 4;
		p[13] = 0x10; /* ACK */
		put16(p + 14, 65535);
	} else {
		put16(p + 4, (uint16_t)(hlen + payload));
	}
	for (uint32_t i = 0; i < payload; i++)
		p[hlen + i] = (uint8_t)(i * 7 + 1);
	return hlen + payload;
}

/* An IPv4 or IPv6 header for `l4_len` bytes of `protocol` that follow. */
static inline uint32_t put_ip(uint8_t *p, uint8_t family, const char *src, const char *dst,
		       uint8_t protocol, uint32_t l4_len)
{
	uint8_t a[16];

	if (family == 4) {
		memset(p, 0, 20);
		p[0] = 0x45;
		put16(p + 2, (uint16_t)(20 + l4_len));
		put16(p + 4, 0x1234);
		p[8] = 61;
		p[9] = protocol;
		parse_addr(4, src, a);
		memcpy(p + 12, a, 4);
		parse_addr(4, dst, a);
		memcpy(p + 16, a, 4);
		put16(p + 10, ref_csum(p, 20));
		return 20;
	}
	memset(p, 0, 40);
	p[0] = 0x60;
	p[1] = 0x0a; /* some traffic class and flow label, to see them kept */
	p[3] = 0x77;
	put16(p + 4, (uint16_t)l4_len);
	p[6] = protocol;
	p[7] = 63;
	parse_addr(6, src, p + 8);
	parse_addr(6, dst, p + 24);
	return 40;
}

/* A whole IP datagram (IP + TCP/UDP + payload) at p; returns its length. */
static inline uint32_t put_datagram(uint8_t *p, uint8_t family, const char *src, const char *dst,
			     uint8_t protocol, uint16_t sport, uint16_t dport, uint32_t payload)
{
	uint32_t hlen = family == 4 ? 20 : 40;
	uint32_t l4 = put_l4(p + hlen, protocol, sport, dport, payload);

	put_ip(p, family, src, dst, protocol, l4);
	return hlen + l4;
}

/* A copy whose data points into its own buffer (a struct copy would point into the source's). */
static inline void pkt_save(struct pkt *dst, const struct pkt *src)
{
	memcpy(dst->buf, src->buf, sizeof(dst->buf));
	dst->data = dst->buf + (src->data - src->buf);
	dst->len = src->len;
}

static inline void pkt_init(struct pkt *k)
{
	memset(k->buf, 0xee, sizeof(k->buf)); /* headroom garbage must not leak into output */
	k->data = k->buf + HEADROOM;
	k->len = 0;
}

/* A plain frame: Ethernet to this host, then a datagram. */
static inline void pkt_plain(struct pkt *k, uint8_t family, const char *src, const char *dst,
		      uint8_t protocol, uint16_t sport, uint16_t dport, uint32_t payload)
{
	pkt_init(k);
	k->len = put_eth(k->data, host_mac, peer_mac, family == 4 ? 0x0800 : 0x86dd);
	k->len += put_datagram(k->data + k->len, family, src, dst, protocol, sport, dport, payload);
}

/* A GUE frame to this host: outer family/source, then `gue` header bytes (variant 0) or none
 * (variant 1 when gue_len == 0), then an inner datagram. */
static inline void pkt_gue(struct pkt *k, uint8_t outer, const char *outer_src, const uint8_t *gue,
		    uint32_t gue_len, uint8_t family, const char *src, const char *dst,
		    uint8_t protocol, uint16_t sport, uint16_t dport, uint32_t payload)
{
	uint8_t inner[2048];
	uint32_t inner_len = put_datagram(inner, family, src, dst, protocol, sport, dport, payload);
	uint32_t ohl = outer == 4 ? 20 : 40, udp_len = 8 + gue_len + inner_len;
	uint8_t *udp;

	pkt_init(k);
	k->len = put_eth(k->data, host_mac, peer_mac, outer == 4 ? 0x0800 : 0x86dd);
	put_ip(k->data + k->len, outer, outer_src, outer == 4 ? "192.0.2.1" : "2001:db8:ffff::1",
	       IPPROTO_UDP, udp_len);
	udp = k->data + k->len + ohl;
	memset(udp, 0, 8);
	put16(udp, 50000);
	put16(udp + 2, SU_GUE_DEFAULT_PORT);
	put16(udp + 4, (uint16_t)udp_len);
	if (gue_len)
		memcpy(udp + 8, gue, gue_len);
	memcpy(udp + 8 + gue_len, inner, inner_len);
	k->len += ohl + udp_len;
}

/* Fills in the outer UDP checksum of a frame from pkt_gue (untagged), summed independently. */
static inline void set_outer_udp_csum(struct pkt *k)
{
	int v6 = get16(k->data + 12) == 0x86dd;
	uint8_t *ip = k->data + 14, *udp = ip + (v6 ? 40 : 20), pseudo[40] = { 0 };
	uint32_t plen, udp_len = get16(udp + 4);
	uint16_t c;

	if (v6) {
		memcpy(pseudo, ip + 8, 32);
		put16(pseudo + 34, (uint16_t)udp_len);
		pseudo[39] = 17;
		plen = 40;
	} else {
		memcpy(pseudo, ip + 12, 8);
		pseudo[9] = 17;
		put16(pseudo + 10, (uint16_t)udp_len);
		plen = 12;
	}
	put16(udp + 6, 0);
	c = (uint16_t)~ref_sum(ref_sum(0, pseudo, plen), udp, udp_len);
	put16(udp + 6, c ? c : 0xffff);
}

static inline enum su_route_counter route(const struct su_view *v, struct pkt *k)
{
	return su_core_route(v, &k->data, &k->len, (uint32_t)(k->data - k->buf));
}

/* A packet that is the kernel's: the XDP program passes it (su_core_route_as_xdp, on a copy:
 * its fate is returned), a worker cannot and counts drop_local (on `k`). SU_ROUTE_COUNTER_COUNT,
 * "(not a fate)", when the worker says anything else. */
static inline enum su_route_counter kernels(const struct su_view *v, struct pkt *k)
{
	struct pkt copy;
	uint32_t owner;
	enum su_route_counter xdp;

	pkt_save(&copy, k);
	xdp = su_core_route_as_xdp(v, NULL, &copy.data, &copy.len,
				   (uint32_t)(copy.data - copy.buf), &owner);
	return route(v, k) == SU_ROUTE_drop_local ? xdp : SU_ROUTE_COUNTER_COUNT;
}

static inline int bytes_equal(const char *what, const uint8_t *got, uint32_t got_len,
		       const uint8_t *want, uint32_t want_len)
{
	if (got_len != want_len) {
		printf("#   %s: length %u, expected %u\n", what, got_len, want_len);
		return 0;
	}
	for (uint32_t i = 0; i < want_len; i++)
		if (got[i] != want[i]) {
			printf("#   %s: byte %u is 0x%02x, expected 0x%02x\n", what, i, got[i],
			       want[i]);
			return 0;
		}
	return 1;
}

/* The expected GUE frame around `inner`: built field by field from the RFCs, with the source
 * port taken from the output (it is checked separately). */
static inline uint32_t expect_gue(uint8_t *out, const struct img *m, uint32_t owner, uint16_t sport,
			   const uint8_t *inner, uint32_t inner_len, uint8_t inner_family)
{
	const struct su_owner *o = &m->owners[owner];
	uint32_t gue_len = o->encap == SU_ENCAP_GUE0 ? 4 : 0, n, udp_len = 8 + gue_len + inner_len;
	uint8_t *udp;

	n = put_eth(out, o->next_hop_mac, host_mac, o->family == 4 ? 0x0800 : 0x86dd);
	if (o->family == 4) {
		uint8_t *ip = out + n;

		memset(ip, 0, 20);
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(20 + udp_len));
		put16(ip + 6, 0x4000);
		ip[8] = 64;
		ip[9] = 17;
		memcpy(ip + 12, m->h.host.ipv4, 4);
		memcpy(ip + 16, o->endpoint, 4);
		put16(ip + 10, ref_csum(ip, 20));
		n += 20;
	} else {
		uint8_t *ip = out + n;

		memset(ip, 0, 40);
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)udp_len);
		ip[6] = 17;
		ip[7] = 64;
		memcpy(ip + 8, m->h.host.ipv6, 16);
		memcpy(ip + 24, o->endpoint, 16);
		n += 40;
	}
	udp = out + n;
	put16(udp, sport);
	put16(udp + 2, o->gue_port);
	put16(udp + 4, (uint16_t)udp_len);
	put16(udp + 6, 0);
	n += 8;
	if (gue_len) {
		out[n] = 0;
		out[n + 1] = inner_family == 4 ? 4 : 41;
		out[n + 2] = out[n + 3] = 0;
		n += 4;
	}
	memcpy(out + n, inner, inner_len);
	n += inner_len;
	if (o->family == 6) {
		/* RFC 8200 8.1 pseudo-header, summed independently of the code under test. */
		uint8_t pseudo[40];
		uint16_t c;

		memcpy(pseudo, m->h.host.ipv6, 16);
		memcpy(pseudo + 16, o->endpoint, 16);
		memset(pseudo + 32, 0, 8);
		put16(pseudo + 34, (uint16_t)udp_len);
		pseudo[39] = 17;
		c = (uint16_t)~ref_sum(ref_sum(0, pseudo, 40), udp, udp_len);
		put16(udp + 6, c ? c : 0xffff);
	}
	return n;
}

/* The UDP source port of a GUE frame from this host. */
static inline uint16_t gue_sport(const struct pkt *k)
{
	uint32_t off = 14 + (get16(k->data + 12) == 0x0800 ? 20 : 40);

	return get16(k->data + off);
}

/* The routing tests' table, built; exits the test program when it cannot be. */
static inline struct su_view *routing_view(struct img *m)
{
	struct su_view *v = NULL;
	struct su_error err;

	routing_table(m);
	if (img_build(m, &v, &err)) {
		CHECK(0, "builds the routing table: %s", err.message);
		printf("%d passed, %d failed\n", passed, failed);
		exit(1);
	}
	return v;
}

static inline int summary(void)
{
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

#endif /* SU_TEST_CORE_FIXTURE_H */
