/* Tests native/core without Node or root: table images built by hand, every rejection and its
 * message, lookups across prefix lengths, and packets routed byte for byte (golden packets built
 * here field by field, checksums recomputed independently). Run under valgrind by
 * test/unit/core-native.test.ts. */
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

static const char *fate_names[] = {
#define SU_X(name, doc) #name,
	SU_ROUTE_COUNTERS(SU_X)
#undef SU_X
};

static const char *fate_name(enum su_route_counter c)
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
static void routing_table(struct img *m)
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

/* ---- Image checks ----------------------------------------------------------------------- */

static void expect_reject(const struct img *m, const char *what, const char *message)
{
	struct su_view *v = NULL;
	struct su_error err;
	int ret = img_build(m, &v, &err);

	CHECK(ret == -EINVAL && v == NULL && strcmp(err.code, "ERR_INVALID_TABLE") == 0 &&
		      strcmp(err.message, message) == 0,
	      "rejects %s: %s", what, ret ? err.message : "(accepted)");
	if (ret == 0)
		su_view_free(v);
	else if (strcmp(err.message, message) != 0)
		printf("#   expected: %s\n", message);
}

/* Patches `patch` into a copy of the routing table's image (`n` bytes) and expects `message`. */
static void expect_section_reject(const uint8_t *image, size_t n,
				  void (*patch)(struct su_table_header *h), const char *what,
				  const char *message)
{
	static uint8_t copy[4096];
	struct su_error err = { 0 };
	struct su_view *v = NULL;
	int ret;

	memcpy(copy, image, n);
	patch((struct su_table_header *)copy);
	ret = su_view_build(copy, n, &v, &err);
	CHECK(ret == -EINVAL && strcmp(err.message, message) == 0, "rejects %s: %s", what,
	      err.message);
	su_view_free(v);
}

static void kind_unknown(struct su_table_header *h) { h->sections[0].kind = 9; }
static void kind_zero(struct su_table_header *h) { h->sections[0].kind = 0; }
static void too_many(struct su_table_header *h) { h->section_count = SU_SECTIONS_MAX + 1; }
static void unused_set(struct su_table_header *h) { h->sections[2].size = 4; }
static void inside_owners(struct su_table_header *h) { h->sections[0].offset -= 32; }
static void unaligned(struct su_table_header *h) { h->sections[0].offset += 2; }
static void overflowing(struct su_table_header *h) { h->sections[0].size = 0xfffffff0u; }
static void twice(struct su_table_header *h)
{
	h->section_count = 2;
	h->sections[1] = h->sections[0];
	h->sections[1].offset += h->sections[0].size; /* empty, right after the first */
	h->sections[1].size = 0;
}
static void overlap(struct su_table_header *h)
{
	h->section_count = 2;
	h->sections[1] = h->sections[0];
	h->sections[1].size = 8;
}
static void counts_wrong(struct su_table_header *h)
{
	h->key_count = 0xffffffffu;
	h->range_count = 0xffffffffu;
}
static void no_section(struct su_table_header *h)
{
	h->section_count = 0;
	memset(&h->sections[0], 0, sizeof(h->sections[0]));
}

/* The key-kind sections (table.h): known kinds, each once, inside the image, apart. */
static void test_section_checks(const uint8_t *image, size_t n)
{
	expect_section_reject(image, n, kind_unknown, "an unknown key kind",
			      "Invalid table image: section 0 has key kind 9, expected one of: 1 "
			      "(port-slice)");
	expect_section_reject(image, n, kind_zero, "key kind 0",
			      "Invalid table image: section 0 has key kind 0, expected one of: 1 "
			      "(port-slice)");
	expect_section_reject(image, n, too_many, "more sections than an image lists",
			      "Invalid table image: 5 sections, more than the 4 an image lists "
			      "(SU_SECTIONS_MAX)");
	expect_section_reject(image, n, unused_set, "a set entry past the count",
			      "Invalid table image: section entry 2 is not zero, but section_count "
			      "is 1: entries past the count must be zero");
	expect_section_reject(image, n, inside_owners, "a section over the owners",
			      "Invalid table image: section 0 (port-slice) starts at byte 360, "
			      "expected a multiple of 4 at or after byte 392, where the header, "
			      "trusted prefixes, peers and owners end");
	expect_section_reject(image, n, unaligned, "an unaligned section",
			      "Invalid table image: section 0 (port-slice) starts at byte 394, "
			      "expected a multiple of 4 at or after byte 392, where the header, "
			      "trusted prefixes, peers and owners end");
	expect_section_reject(image, n, overflowing, "a section past the end",
			      "Invalid table image: section 0 (port-slice) ends at byte 4294967672, "
			      "past the image's 728 bytes");
	expect_section_reject(image, n, twice, "a kind listed twice",
			      "Invalid table image: section 1 repeats key kind 1 (port-slice) of "
			      "section 0: a kind has at most one section");
	expect_section_reject(image, n, overlap, "overlapping sections",
			      "Invalid table image: section 1 (port-slice, bytes 392-400) overlaps "
			      "section 0 (port-slice, bytes 392-728)");
	expect_section_reject(image, n, counts_wrong, "counts that overflow 32 bits",
			      "Invalid table image: section 0 (port-slice) is 336 bytes, but "
			      "key_count 4294967295 and range_count 4294967295 make 154618822620");
	expect_section_reject(image, n, no_section, "keys without a port-slice section",
			      "Invalid table image: key_count 4 and range_count 28, but no "
			      "port-slice section holds them");
}

static void test_image_checks(void)
{
	struct img m;
	struct su_view *v = NULL;
	struct su_error err;
	uint8_t buf[sizeof(struct img) + 8];
	size_t n;
	int ret;

	routing_table(&m);
	ret = img_build(&m, &v, &err);
	CHECK(ret == 0 && v && su_view_generation(v) == 42 && su_view_host(v)->mtu == 1500,
	      "accepts the routing table (generation %llu)",
	      v ? (unsigned long long)su_view_generation(v) : 0ULL);
	su_view_free(v);

	/* An empty table is a table. */
	img_init(&m);
	ret = img_build(&m, &v, &err);
	CHECK(ret == 0 &&
		      su_view_lookup(v, 4, (const uint8_t *)"\x0a\0\0\x01", IPPROTO_UDP, 53) == NULL,
	      "accepts an empty table, which owns nothing");
	su_view_free(v);

	routing_table(&m);
	n = img_bytes(&m, buf);
	memset(&err, 0, sizeof(err));
	ret = su_view_build(buf, 10, &v, &err);
	CHECK(ret == -EINVAL &&
		      strcmp(err.message,
			     "Invalid table image: 10 bytes, shorter than the 128-byte header") == 0,
	      "rejects a truncated header: %s", err.message);
	ret = su_view_build(buf, n - 1, &v, &err);
	CHECK(ret == -EINVAL &&
		      strcmp(err.message,
			     "Invalid table image: section 0 (port-slice) ends at byte 728, past the "
			     "image's 727 bytes") == 0,
	      "rejects an image shorter than its sections: %s", err.message);
	ret = su_view_build(buf, n + 8, &v, &err);
	CHECK(ret == -EINVAL &&
		      strcmp(err.message,
			     "Invalid table image: 736 bytes, but the header, trusted prefixes, "
			     "peers and owners (392 bytes) and the 1 sections make 728") == 0,
	      "rejects an image longer than its sections: %s", err.message);
	ret = su_view_build(buf, 300, &v, &err);
	CHECK(ret == -EINVAL &&
		      strcmp(err.message,
			     "Invalid table image: 300 bytes, but its counts (trusted prefixes 2, "
			     "peers 0, owners 7) make 392 before any section") == 0,
	      "rejects an image shorter than its fixed parts: %s", err.message);
	test_section_checks(buf, n);
	routing_table(&m);
	m.h.magic = 0x12345678;
	expect_reject(&m, "a bad magic",
		      "Invalid table image: magic 0x12345678, expected 0x42545553 (\"SUTB\")");
	routing_table(&m);
	m.h.abi_version = SU_ABI_VERSION + 1;
	{
		char msg[200];

		snprintf(msg, sizeof(msg),
			 "Invalid table image: ABI version %u, but the native fast path was built for "
			 "version %u",
			 SU_ABI_VERSION + 1, SU_ABI_VERSION);
		expect_reject(&m, "another ABI version", msg);
	}
	routing_table(&m);
	m.h.host.flags |= 0x80;
	expect_reject(&m, "unknown host flags",
		      "Invalid table image: host flags 0x83 include unknown bits 0x80");

	routing_table(&m);
	while (m.h.trusted_count <= SU_TRUSTED_PEERS_MAX)
		add_trusted(&m, 4, "203.0.113.0", 24);
	expect_reject(&m, "too many trusted prefixes",
		      "Invalid table image: 65 trusted prefixes, more than the 64 the XDP program "
		      "holds");
	routing_table(&m);
	m.trusted[1].family = 5;
	expect_reject(&m, "a trusted prefix of family 5",
		      "Invalid table image: trusted prefix 1 has family 5, expected 4 (IPv4) or 6 "
		      "(IPv6)");
	routing_table(&m);
	m.trusted[0].addr[3] = 1;
	expect_reject(&m, "a trusted prefix with host bits",
		      "Invalid table image: trusted prefix 0 (203.0.113.1/24) has host bits set");
	routing_table(&m);
	m.trusted[1].prefix_len = 129;
	expect_reject(&m, "a trusted IPv6 prefix of 129 bits",
		      "Invalid table image: trusted prefix 1 has prefix length 129, longer than the "
		      "128 bits of an IPv6 address");

	routing_table(&m);
	m.owners[3].kind = 9;
	expect_reject(&m, "an owner of kind 9",
		      "Invalid table image: owner 3 has kind 9, expected 1 (local), 2 (server) or 3 "
		      "(datacenter)");
	routing_table(&m);
	m.owners[2].encap = 3;
	expect_reject(&m, "encapsulation 3",
		      "Invalid table image: owner 2 has encapsulation 3, expected 0 (GUE0), 1 (GUE1) "
		      "or 2 (L2)");
	routing_table(&m);
	m.owners[4].family = 0;
	expect_reject(&m, "a GUE owner without endpoint family",
		      "Invalid table image: owner 4 (GUE) has endpoint family 0, expected 4 or 6");
	routing_table(&m);
	m.owners[4].gue_port = 0;
	expect_reject(&m, "a GUE owner on port 0",
		      "Invalid table image: owner 4 (GUE) has destination port 0");
	routing_table(&m);
	m.owners[1].flags = 0;
	expect_reject(&m, "an L2 owner without MAC address",
		      "Invalid table image: owner 1 (L2) has no MAC address (flag next-hop-known "
		      "unset)");
	routing_table(&m);
	m.owners[4].encap = SU_ENCAP_L2;
	expect_reject(&m, "a data centre reached by L2",
		      "Invalid table image: owner 4 is a datacenter with L2 encapsulation, which only "
		      "servers of this data centre can have");
	routing_table(&m);
	m.owners[2].flags |= 0x10;
	expect_reject(&m, "unknown owner flags",
		      "Invalid table image: owner 2 has flags 0x11 with unknown bits 0x10");

	routing_table(&m);
	m.keys[2].family = 5;
	expect_reject(&m, "a key of family 5",
		      "Invalid table image: key 2 has family 5, expected 4 (IPv4) or 6 (IPv6)");
	routing_table(&m);
	m.keys[1].prefix_len = 33;
	expect_reject(&m, "an IPv4 key of 33 bits",
		      "Invalid table image: key 1 has prefix length 33, longer than the 32 bits of "
		      "an IPv4 address");
	routing_table(&m);
	m.keys[0].prefix_len = 24;
	expect_reject(&m, "a key with host bits",
		      "Invalid table image: key 0 (198.51.100.10/24) has host bits set");
	routing_table(&m);
	m.keys[0].addr[9] = 1;
	expect_reject(&m, "an IPv4 key with bytes beyond the address",
		      "Invalid table image: key 0 (198.51.100.10/32) has host bits set (bytes 4-15 "
		      "of an IPv4 address must be zero)");
	routing_table(&m);
	m.keys[3].prefix_len = 100;
	expect_reject(&m, "an IPv6 key with host bits",
		      "Invalid table image: key 3 (2001:db8:100::10/100) has host bits set");
	routing_table(&m);
	m.keys[2].protocol = 1;
	expect_reject(&m, "a key for ICMP",
		      "Invalid table image: key 2 (protocol 1 2001:db8:100::10/128) has protocol 1, "
		      "expected 6 (TCP) or 17 (UDP)");
	routing_table(&m);
	m.keys[1].range_count = 0;
	expect_reject(&m, "a key without ranges",
		      "Invalid table image: key 1 (TCP 198.51.100.10/32) has no port ranges");
	routing_table(&m);
	m.keys[3].range_count = 8;
	expect_reject(&m, "a key whose ranges run past the section",
		      "Invalid table image: key 3 (TCP 2001:db8:100::10/128) has ranges 21 to 28, "
		      "but the image has 28 ranges");
	routing_table(&m);
	m.keys[3].range_first = 0xfffffffeu;
	expect_reject(&m, "a key whose range index overflows",
		      "Invalid table image: key 3 (TCP 2001:db8:100::10/128) has ranges 4294967294 "
		      "to 4294967300, but the image has 28 ranges");
	routing_table(&m);
	m.ranges[7 + 3].first = 5000;
	m.ranges[7 + 3].last = 4000;
	expect_reject(&m, "a reversed range",
		      "Invalid table image: key 1 (TCP 198.51.100.10/32): range 3 (ports 5000-4000) "
		      "is reversed");
	routing_table(&m);
	m.ranges[2].first = 1500;
	expect_reject(&m, "overlapping ranges",
		      "Invalid table image: key 0 (UDP 198.51.100.10/32): range 2 (ports 1500-3999) "
		      "does not start after range 1 (ports 2000-2999) ends; a key's ranges must be "
		      "sorted and disjoint");
	routing_table(&m);
	m.ranges[2].first = 100;
	m.ranges[2].last = 200;
	expect_reject(&m, "unsorted ranges",
		      "Invalid table image: key 0 (UDP 198.51.100.10/32): range 2 (ports 100-200) "
		      "does not start after range 1 (ports 2000-2999) ends; a key's ranges must be "
		      "sorted and disjoint");
	routing_table(&m);
	m.ranges[14 + 6].owner = 7;
	expect_reject(&m, "a range naming a missing owner",
		      "Invalid table image: key 2 (UDP 2001:db8:100::10/128): range 6 (ports "
		      "7000-7999) names owner 7, but the image has 7 owners");
	routing_table(&m);
	add_key(&m, 4, "198.51.100.10", 32, IPPROTO_TCP);
	add_range(&m, 1, 2, 0);
	expect_reject(&m, "a repeated key",
		      "Invalid table image: key 4 (TCP 198.51.100.10/32) repeats key 1");

	/* The caller's buffer is copied: changing it afterwards changes nothing. */
	routing_table(&m);
	n = img_bytes(&m, buf);
	ret = su_view_build(buf, n, &v, &err);
	memset(buf, 0xff, n);
	{
		const uint8_t a[4] = { 198, 51, 100, 10 };
		const struct su_owner *o = ret ? NULL : su_view_lookup(v, 4, a, IPPROTO_UDP, 2500);

		CHECK(o && o->kind == SU_OWNER_SERVER && o->encap == SU_ENCAP_L2,
		      "keeps its own copy of the image");
	}
	su_view_free(v);
}

/* ---- Lookup ------------------------------------------------------------------------------ */

static int lookup_is(const struct su_view *v, const struct img *m, uint8_t family,
		     const char *addr, uint8_t protocol, uint16_t port, int owner)
{
	uint8_t a[16];
	const struct su_owner *o;

	parse_addr(family, addr, a);
	o = su_view_lookup(v, family, a, protocol, port);
	if (owner < 0)
		return o == NULL;
	/* Owners are told apart by their endpoint's last byte. */
	return o && o->endpoint[15] == m->owners[owner].endpoint[15];
}

static void test_lookup(void)
{
	struct img m;
	struct su_view *v = NULL;
	struct su_error err;
	uint32_t o[8];

	img_init(&m);
	for (int i = 0; i < 8; i++) {
		o[i] = add_owner(&m, SU_OWNER_SERVER, SU_ENCAP_GUE1, 6, "2001:db8::", 0x10);
		m.owners[i].endpoint[15] = (uint8_t)(i + 1);
	}
	add_key(&m, 4, "10.0.0.0", 8, IPPROTO_UDP);
	add_range(&m, 1000, 1999, o[0]);
	add_key(&m, 4, "10.1.0.0", 16, IPPROTO_UDP);
	add_range(&m, 1000, 1099, o[1]);
	add_key(&m, 4, "10.1.2.3", 32, IPPROTO_UDP);
	add_range(&m, 1050, 1050, o[2]);
	add_key(&m, 4, "10.1.2.3", 32, IPPROTO_TCP);
	add_range(&m, 80, 80, o[3]);
	add_key(&m, 4, "0.0.0.0", 0, IPPROTO_UDP);
	add_range(&m, 53, 53, o[4]);
	add_key(&m, 4, "10.8.0.0", 13, IPPROTO_UDP); /* not on a byte boundary */
	add_range(&m, 0, 9, o[5]);
	add_range(&m, 20, 29, o[6]);
	add_range(&m, 40, 49, o[7]);
	add_range(&m, 60, 65535, o[0]);
	add_key(&m, 6, "2001:db8::", 32, IPPROTO_UDP);
	add_range(&m, 0, 65535, o[1]);
	add_key(&m, 6, "2001:db8:1::", 48, IPPROTO_UDP);
	add_range(&m, 443, 443, o[2]);
	add_key(&m, 6, "2001:db8:1::5", 128, IPPROTO_UDP);
	add_range(&m, 443, 443, o[3]);
	add_key(&m, 6, "::", 0, IPPROTO_TCP);
	add_range(&m, 22, 22, o[4]);
	add_key(&m, 6, "2001:db8:1:2:8000::", 65, IPPROTO_TCP);
	add_range(&m, 22, 22, o[5]);

	if (img_build(&m, &v, &err)) {
		CHECK(0, "builds the lookup table: %s", err.message);
		return;
	}
	CHECK(lookup_is(v, &m, 4, "10.1.2.3", IPPROTO_UDP, 1050, 2), "/32 wins over /16 and /8");
	CHECK(lookup_is(v, &m, 4, "10.1.2.3", IPPROTO_UDP, 1051, 1),
	      "a /32 without the port falls through to the /16");
	CHECK(lookup_is(v, &m, 4, "10.1.2.3", IPPROTO_UDP, 1100, 0),
	      "a /16 without the port falls through to the /8");
	CHECK(lookup_is(v, &m, 4, "10.1.2.3", IPPROTO_UDP, 2000, -1),
	      "no prefix has the port: no owner");
	CHECK(lookup_is(v, &m, 4, "10.1.2.3", IPPROTO_TCP, 1050, -1),
	      "the protocol is part of the key (TCP 1050: no owner)");
	CHECK(lookup_is(v, &m, 4, "10.1.2.3", IPPROTO_TCP, 80, 3), "TCP 80 has its own key");
	CHECK(lookup_is(v, &m, 4, "10.2.0.1", IPPROTO_UDP, 1099, 0), "10.2.0.1 is only in the /8");
	CHECK(lookup_is(v, &m, 4, "8.8.8.8", IPPROTO_UDP, 53, 4), "/0 covers every address");
	CHECK(lookup_is(v, &m, 4, "8.8.8.8", IPPROTO_UDP, 54, -1), "/0 only has port 53");
	CHECK(lookup_is(v, &m, 4, "10.15.255.255", IPPROTO_UDP, 0, 5) &&
		      lookup_is(v, &m, 4, "10.15.255.255", IPPROTO_UDP, 9, 5) &&
		      lookup_is(v, &m, 4, "10.8.0.0", IPPROTO_UDP, 20, 6) &&
		      lookup_is(v, &m, 4, "10.8.0.0", IPPROTO_UDP, 29, 6) &&
		      lookup_is(v, &m, 4, "10.8.0.0", IPPROTO_UDP, 45, 7) &&
		      lookup_is(v, &m, 4, "10.8.0.0", IPPROTO_UDP, 65535, 0),
	      "a /13 key: every range found at its edges");
	CHECK(lookup_is(v, &m, 4, "10.8.0.0", IPPROTO_UDP, 10, -1) &&
		      lookup_is(v, &m, 4, "10.8.0.0", IPPROTO_UDP, 19, -1) &&
		      lookup_is(v, &m, 4, "10.8.0.0", IPPROTO_UDP, 59, -1) &&
		      lookup_is(v, &m, 4, "10.8.0.0", IPPROTO_UDP, 1000, 0),
	      "a /13 key: gaps between ranges fall through to the /8");
	CHECK(lookup_is(v, &m, 4, "10.16.0.0", IPPROTO_UDP, 5, -1),
	      "10.16.0.0 is outside the /13");
	CHECK(lookup_is(v, &m, 6, "2001:db8:1::5", IPPROTO_UDP, 443, 3) &&
		      lookup_is(v, &m, 6, "2001:db8:1::6", IPPROTO_UDP, 443, 2) &&
		      lookup_is(v, &m, 6, "2001:db8:2::5", IPPROTO_UDP, 443, 1) &&
		      lookup_is(v, &m, 6, "2001:db9::", IPPROTO_UDP, 443, -1),
	      "IPv6: /128, /48, /32 and nothing");
	CHECK(lookup_is(v, &m, 6, "2001:db8:1:2:8000::1", IPPROTO_TCP, 22, 5) &&
		      lookup_is(v, &m, 6, "2001:db8:1:2:7fff::1", IPPROTO_TCP, 22, 4) &&
		      lookup_is(v, &m, 6, "::1", IPPROTO_TCP, 22, 4),
	      "IPv6: a /65 decided by its 65th bit, the /0 below it");
	{
		uint8_t a[16];

		parse_addr(4, "10.1.2.3", a);
		CHECK(su_view_lookup(v, 5, a, IPPROTO_UDP, 1050) == NULL,
		      "an unknown family finds nothing");
	}
	su_view_free(v);
}

/* A million /32 keys, one range each: built, then every key found with its owner. */
static void test_million_keys(void)
{
	enum { KEYS = 1000000, OWNERS = 4 };
	size_t size = sizeof(struct su_table_header) + OWNERS * sizeof(struct su_owner) +
		      (size_t)KEYS * (sizeof(struct su_slice_key) + sizeof(struct su_port_range));
	uint8_t *buf = calloc(1, size);
	struct su_table_header *h = (struct su_table_header *)buf;
	struct su_owner *owners = (struct su_owner *)(h + 1);
	struct su_slice_key *keys = (struct su_slice_key *)(owners + OWNERS);
	struct su_port_range *ranges = (struct su_port_range *)(keys + KEYS);
	struct su_view *v = NULL;
	struct su_error err = { 0 };
	uint32_t wrong = 0, misses = 0;
	int ret;

	h->magic = SU_TABLE_MAGIC;
	h->abi_version = SU_ABI_VERSION;
	h->owner_count = OWNERS;
	h->key_count = KEYS;
	h->range_count = KEYS;
	h->section_count = 1;
	h->sections[0].kind = SU_KEY_KIND_PORT_SLICE;
	h->sections[0].offset = (uint32_t)((const uint8_t *)keys - buf);
	h->sections[0].size = (uint32_t)(size - h->sections[0].offset);
	h->host.mtu = 1500;
	for (int i = 0; i < OWNERS; i++) {
		owners[i].kind = SU_OWNER_SERVER;
		owners[i].encap = SU_ENCAP_GUE1;
		owners[i].family = 4;
		owners[i].gue_port = 6080;
		owners[i].endpoint[3] = (uint8_t)i;
	}
	for (uint32_t i = 0; i < KEYS; i++) {
		/* 100.64.0.0/10 and up: 10.x.y.z spaced apart to use every byte of the address */
		uint32_t a = 0x64400000u + i * 7;

		keys[i].family = 4;
		keys[i].prefix_len = 32;
		keys[i].protocol = i % 3 ? IPPROTO_UDP : IPPROTO_TCP;
		keys[i].range_first = i;
		keys[i].range_count = 1;
		keys[i].addr[0] = (uint8_t)(a >> 24);
		keys[i].addr[1] = (uint8_t)(a >> 16);
		keys[i].addr[2] = (uint8_t)(a >> 8);
		keys[i].addr[3] = (uint8_t)a;
		ranges[i].first = (uint16_t)(i % 60000);
		ranges[i].last = (uint16_t)(i % 60000 + 100);
		ranges[i].owner = i % OWNERS;
	}
	ret = su_view_build(buf, size, &v, &err);
	CHECK(ret == 0, "builds a table of 1,000,000 keys%s%s", ret ? ": " : "",
	      ret ? err.message : "");
	if (ret) {
		free(buf);
		return;
	}
	for (uint32_t i = 0; i < KEYS; i++) {
		const struct su_owner *o =
			su_view_lookup(v, 4, keys[i].addr, keys[i].protocol, (uint16_t)(i % 60000 + 50));

		if (!o || o->endpoint[3] != i % OWNERS)
			wrong++;
		/* Same address, the other protocol, or a port outside the range: no owner. */
		if (su_view_lookup(v, 4, keys[i].addr,
				   keys[i].protocol == IPPROTO_UDP ? IPPROTO_TCP : IPPROTO_UDP,
				   (uint16_t)(i % 60000 + 50)) ||
		    su_view_lookup(v, 4, keys[i].addr, keys[i].protocol,
				   (uint16_t)(i % 60000 + 101)))
			misses++;
	}
	CHECK(wrong == 0, "finds the owner of each of the 1,000,000 keys (%u wrong)", wrong);
	CHECK(misses == 0, "finds nothing for the other protocol or the next port (%u found)",
	      misses);
	{
		const uint8_t outside[4] = { 0x64, 0x3f, 0xff, 0xff };

		CHECK(su_view_lookup(v, 4, outside, IPPROTO_UDP, 50) == NULL,
		      "finds nothing for an address outside the table");
	}
	/* Duplicates are found at this size too (the last key repeats the first). */
	memcpy(&keys[KEYS - 1], &keys[0], sizeof(keys[0]));
	keys[KEYS - 1].range_first = KEYS - 1;
	su_view_free(v);
	v = NULL;
	ret = su_view_build(buf, size, &v, &err);
	CHECK(ret == -EINVAL && strcmp(err.message, "Invalid table image: key 999999 (TCP "
						    "100.64.0.0/32) repeats key 0") == 0,
	      "finds a repeated key among 1,000,000: %s", err.message);
	free(buf);
}

/* ---- Packets ----------------------------------------------------------------------------- */

#define HEADROOM 256

struct pkt {
	uint8_t buf[HEADROOM + 4096];
	uint8_t *data;
	uint32_t len;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* An independent checksum: big-endian 16-bit words summed one by one (RFC 1071 as written). */
static uint16_t ref_sum(uint32_t sum, const uint8_t *p, uint32_t len)
{
	for (uint32_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint16_t ref_csum(const uint8_t *p, uint32_t len)
{
	return (uint16_t)~ref_sum(0, p, len);
}

static uint32_t put_eth(uint8_t *p, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	put16(p + 12, type);
	return 14;
}

/* A TCP or UDP header plus `payload` bytes of a pattern. */
static uint32_t put_l4(uint8_t *p, uint8_t protocol, uint16_t sport, uint16_t dport,
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
static uint32_t put_ip(uint8_t *p, uint8_t family, const char *src, const char *dst,
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
static uint32_t put_datagram(uint8_t *p, uint8_t family, const char *src, const char *dst,
			     uint8_t protocol, uint16_t sport, uint16_t dport, uint32_t payload)
{
	uint32_t hlen = family == 4 ? 20 : 40;
	uint32_t l4 = put_l4(p + hlen, protocol, sport, dport, payload);

	put_ip(p, family, src, dst, protocol, l4);
	return hlen + l4;
}

/* A copy whose data points into its own buffer (a struct copy would point into the source's). */
static void pkt_save(struct pkt *dst, const struct pkt *src)
{
	memcpy(dst->buf, src->buf, sizeof(dst->buf));
	dst->data = dst->buf + (src->data - src->buf);
	dst->len = src->len;
}

static void pkt_init(struct pkt *k)
{
	memset(k->buf, 0xee, sizeof(k->buf)); /* headroom garbage must not leak into output */
	k->data = k->buf + HEADROOM;
	k->len = 0;
}

/* A plain frame: Ethernet to this host, then a datagram. */
static void pkt_plain(struct pkt *k, uint8_t family, const char *src, const char *dst,
		      uint8_t protocol, uint16_t sport, uint16_t dport, uint32_t payload)
{
	pkt_init(k);
	k->len = put_eth(k->data, host_mac, peer_mac, family == 4 ? 0x0800 : 0x86dd);
	k->len += put_datagram(k->data + k->len, family, src, dst, protocol, sport, dport, payload);
}

/* A GUE frame to this host: outer family/source, then `gue` header bytes (variant 0) or none
 * (variant 1 when gue_len == 0), then an inner datagram. */
static void pkt_gue(struct pkt *k, uint8_t outer, const char *outer_src, const uint8_t *gue,
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
static void set_outer_udp_csum(struct pkt *k)
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

static enum su_route_counter route(const struct su_view *v, struct pkt *k)
{
	return su_core_route(v, &k->data, &k->len, (uint32_t)(k->data - k->buf));
}

/* A packet that is the kernel's: the XDP program passes it (su_core_route_as_xdp, on a copy:
 * its fate is returned), a worker cannot and counts drop_local (on `k`). SU_ROUTE_COUNTER_COUNT,
 * "(not a fate)", when the worker says anything else. */
static enum su_route_counter kernels(const struct su_view *v, struct pkt *k)
{
	struct pkt copy;
	uint32_t owner;
	enum su_route_counter xdp;

	pkt_save(&copy, k);
	xdp = su_core_route_as_xdp(v, NULL, &copy.data, &copy.len,
				   (uint32_t)(copy.data - copy.buf), &owner);
	return route(v, k) == SU_ROUTE_drop_local ? xdp : SU_ROUTE_COUNTER_COUNT;
}

static int bytes_equal(const char *what, const uint8_t *got, uint32_t got_len,
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
static uint32_t expect_gue(uint8_t *out, const struct img *m, uint32_t owner, uint16_t sport,
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
static uint16_t gue_sport(const struct pkt *k)
{
	uint32_t off = 14 + (get16(k->data + 12) == 0x0800 ? 20 : 40);

	return get16(k->data + off);
}

static void test_route_plain(const struct img *m, const struct su_view *v)
{
	struct pkt k, orig;
	uint8_t want[4096];
	uint32_t n;
	enum su_route_counter fate;

	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 2500, 30);
	CHECK(su_core_route(NULL, &k.data, &k.len, HEADROOM) == SU_ROUTE_drop_no_table,
	      "no table: drop_no_table");

	/* L2 with a QinQ tag pair and Ethernet padding: only the addresses change. */
	pkt_init(&k);
	n = put_eth(k.data, host_mac, peer_mac, 0x88a8);
	put16(k.data + n, 0x0064);
	put16(k.data + n + 2, 0x8100);
	put16(k.data + n + 4, 0x2065);
	put16(k.data + n + 6, 0x0800);
	n += 8;
	n += put_datagram(k.data + n, 4, "192.0.2.77", "198.51.100.10", IPPROTO_TCP, 40000, 2500, 0);
	memset(k.data + n, 0, 6); /* padding to 68 bytes */
	k.len = n + 6;
	pkt_save(&orig, &k);
	fate = route(v, &k);
	memcpy(want, orig.data, orig.len);
	memcpy(want, m->owners[O_L2].next_hop_mac, 6);
	memcpy(want + 6, host_mac, 6);
	CHECK(fate == SU_ROUTE_forward_server_l2 && k.data == k.buf + HEADROOM &&
		      bytes_equal("l2", k.data, k.len, want, orig.len),
	      "L2 server: MAC addresses rewritten, VLAN tags, payload and padding kept (%s)",
	      fate_name(fate));

	/* GUE0 over IPv4 to a data centre; 4 bytes of Ethernet padding after the datagram. */
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 5500, 17);
	memset(k.data + k.len, 0, 4);
	k.len += 4;
	pkt_save(&orig, &k);
	fate = route(v, &k);
	n = expect_gue(want, m, O_DC_GUE0_4, gue_sport(&k), orig.data + 14, orig.len - 18, 4);
	CHECK(fate == SU_ROUTE_encap_datacenter && bytes_equal("gue0 v4-in-v4", k.data, k.len, want, n),
	      "GUE0 v4-in-v4 to a data centre: exact bytes, padding dropped (%s)", fate_name(fate));
	CHECK(ref_sum(0, k.data + 14, 20) == 0xffff, "the outer IPv4 header checksum verifies");

	/* GUE1 over IPv4 to a server, inner IPv6 over TCP. */
	pkt_plain(&k, 6, "2001:db8:5::1", "2001:db8:100::10", IPPROTO_TCP, 40000, 3001, 100);
	pkt_save(&orig, &k);
	fate = route(v, &k);
	n = expect_gue(want, m, O_SRV_GUE1_4, gue_sport(&k), orig.data + 14, orig.len - 14, 6);
	CHECK(fate == SU_ROUTE_forward_server_gue && bytes_equal("gue1 v6-in-v4", k.data, k.len, want, n),
	      "GUE1 v6-in-v4 to a server: exact bytes (%s)", fate_name(fate));

	/* GUE0 over IPv6 to a data centre, inner IPv4: the UDP checksum is mandatory. An odd
	 * payload length exercises the checksum's last byte. */
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 6000, 33);
	pkt_save(&orig, &k);
	fate = route(v, &k);
	n = expect_gue(want, m, O_DC_GUE0_6, gue_sport(&k), orig.data + 14, orig.len - 14, 4);
	CHECK(fate == SU_ROUTE_encap_datacenter && bytes_equal("gue0 v4-in-v6", k.data, k.len, want, n),
	      "GUE0 v4-in-v6 to a data centre: exact bytes including the UDP checksum (%s)",
	      fate_name(fate));
	{
		uint8_t pseudo[40];
		const uint8_t *udp = k.data + 14 + 40;

		memcpy(pseudo, k.data + 14 + 8, 32);
		memset(pseudo + 32, 0, 8);
		put16(pseudo + 34, get16(udp + 4));
		pseudo[39] = 17;
		CHECK(get16(udp + 6) != 0 &&
			      ref_sum(ref_sum(0, pseudo, 40), udp, get16(udp + 4)) == 0xffff,
		      "the outer UDP checksum over IPv6 verifies (0x%04x)", get16(udp + 6));
	}

	/* GUE0 over IPv6 to a server on another port. */
	pkt_plain(&k, 6, "2001:db8:5::1", "2001:db8:100::10", IPPROTO_UDP, 1234, 4321, 0);
	pkt_save(&orig, &k);
	fate = route(v, &k);
	n = expect_gue(want, m, O_SRV_GUE0_6, gue_sport(&k), orig.data + 14, orig.len - 14, 6);
	CHECK(fate == SU_ROUTE_forward_server_gue && bytes_equal("gue0 v6-in-v6", k.data, k.len, want, n) &&
		      get16(k.data + 14 + 40 + 2) == 7777,
	      "GUE0 v6-in-v6 to a server on its own GUE port 7777 (%s)", fate_name(fate));

	/* Source ports: in 49152-65535, stable per flow, spread over flows. */
	{
		static uint8_t seen[65536];
		uint32_t distinct = 0, low = 0, unstable = 0;

		memset(seen, 0, sizeof(seen));
		for (uint32_t i = 0; i < 1024; i++) {
			uint16_t p1, p2;

			pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
				  (uint16_t)(20000 + i), 5000, 10);
			route(v, &k);
			p1 = gue_sport(&k);
			pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
				  (uint16_t)(20000 + i), 5000, 99);
			route(v, &k);
			p2 = gue_sport(&k);
			unstable += p1 != p2;
			low += p1 < SU_GUE_SOURCE_PORT_MIN;
			distinct += !seen[p1];
			seen[p1] = 1;
		}
		CHECK(unstable == 0 && low == 0 && distinct > 900,
		      "GUE source ports: stable per flow (%u changed), all >= 49152 (%u below), "
		      "spread (%u distinct of 1024 flows)",
		      unstable, low, distinct);
	}
	{
		uint16_t a, b, c;

		pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 1, 5000, 0);
		route(v, &k);
		a = gue_sport(&k);
		pkt_plain(&k, 4, "192.0.2.78", "198.51.100.10", IPPROTO_UDP, 1, 5000, 0);
		route(v, &k);
		b = gue_sport(&k);
		pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 1, 5001, 0);
		route(v, &k);
		c = gue_sport(&k);
		CHECK(a != b && a != c && b != c,
		      "source address and destination port change the source port (%u %u %u)", a,
		      b, c);
	}

	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 1500, 0);
	fate = kernels(v, &k);
	CHECK(fate == SU_ROUTE_pass_local, "local slice: pass_local in XDP, drop_local in a worker (%s)",
	      fate_name(fate));
	/* Ports and addresses no slice covers are the kernel's (issue 13: passed in both lanes). */
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 999, 0);
	fate = kernels(v, &k);
	CHECK(fate == SU_ROUTE_pass_unmanaged, "port below every slice: pass_unmanaged (%s)",
	      fate_name(fate));
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.11", IPPROTO_UDP, 40000, 2000, 0);
	fate = kernels(v, &k);
	CHECK(fate == SU_ROUTE_pass_unmanaged, "another address: pass_unmanaged (%s)", fate_name(fate));
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 7000, 0);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_no_neighbour, "owner without next hop: drop_no_neighbour (%s)",
	      fate_name(fate));

	/* MTU 1500 counts the IP packet: GUE1 over IPv4 adds 28 bytes. */
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 3000, 1472 - 28);
	pkt_save(&orig, &k);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_forward_server_gue && k.len == 1514,
	      "a packet that fits the MTU exactly once encapsulated is sent (%u bytes, %s)", k.len,
	      fate_name(fate));
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 3000, 1473 - 28);
	pkt_save(&orig, &k);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_too_big && k.data == k.buf + HEADROOM && k.len == orig.len &&
		      memcmp(k.data, orig.data, k.len) == 0,
	      "one byte more: drop_too_big, packet untouched (%s)", fate_name(fate));
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 2000, 1500 - 28);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_forward_server_l2, "L2: a 1500-byte packet fits (%s)", fate_name(fate));
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 5000, 0);
	fate = su_core_route(v, &k.data, &k.len, 30);
	CHECK(fate == SU_ROUTE_drop_too_big,
	      "too little headroom (30 of the 32 bytes GUE0 over IPv4 needs): drop_too_big (%s)",
	      fate_name(fate));
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 5000, 0);
	fate = su_core_route(v, &k.data, &k.len, 32);
	CHECK(fate == SU_ROUTE_encap_datacenter && k.data == k.buf + HEADROOM - 32,
	      "exactly enough headroom: sent, starting at the buffer's edge (%s)", fate_name(fate));
}

static void test_route_no_source(struct img *m)
{
	struct su_view *v = NULL;
	struct su_error err;
	struct pkt k;
	enum su_route_counter fate;

	m->h.host.flags = SU_HOST_HAS_IPV4;
	if (img_build(m, &v, &err)) {
		CHECK(0, "builds the IPv4-only table: %s", err.message);
		return;
	}
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 6000, 0);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_no_source, "host without IPv6, endpoint IPv6: drop_no_source (%s)",
	      fate_name(fate));
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 5000, 0);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_encap_datacenter, "the same host still sends over IPv4 (%s)",
	      fate_name(fate));
	/* GUE to this host's IPv6 address is not for us when the host has none: plain lookup. */
	{
		const uint8_t hdr[4] = { 0, 4, 0, 0 };

		pkt_gue(&k, 6, "2001:db8:aaaa::9", hdr, 4, 4, "192.0.2.77", "198.51.100.10",
			IPPROTO_UDP, 1, 3000, 0);
		fate = kernels(v, &k);
		CHECK(fate == SU_ROUTE_pass_unmanaged,
		      "GUE to an address the host does not claim is looked up as is: the kernel's (%s)",
		      fate_name(fate));
	}
	su_view_free(v);
	m->h.host.flags = SU_HOST_HAS_IPV4 | SU_HOST_HAS_IPV6;
	m->h.host.gue_port = 0;
	if (img_build(m, &v, &err)) {
		CHECK(0, "builds the table without GUE port: %s", err.message);
		return;
	}
	{
		const uint8_t hdr[4] = { 0, 4, 0, 0 };

		pkt_gue(&k, 4, "203.0.113.9", hdr, 4, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
			1, 3000, 0);
		fate = kernels(v, &k);
		CHECK(fate == SU_ROUTE_pass_unmanaged,
		      "GUE port 0 turns decapsulation off: looked up as is, the kernel's (%s)",
		      fate_name(fate));
	}
	su_view_free(v);
	m->h.host.gue_port = SU_GUE_DEFAULT_PORT;
}

static void test_route_decap(const struct img *m, const struct su_view *v)
{
	struct pkt k, orig;
	uint8_t want[4096], inner[2048];
	uint32_t n, inner_len;
	enum su_route_counter fate;
	const uint8_t v0_ipv4[4] = { 0x00, 4, 0, 0 }, v0_ipv6[4] = { 0x00, 41, 0, 0 };

	/* Variant 0, IPv4 in IPv4, inner for a GUE1 server: re-encapsulated around the same inner. */
	pkt_gue(&k, 4, "203.0.113.9", v0_ipv4, 4, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
		40000, 3500, 21);
	inner_len = put_datagram(inner, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 3500, 21);
	fate = route(v, &k);
	n = expect_gue(want, m, O_SRV_GUE1_4, gue_sport(&k), inner, inner_len, 4);
	CHECK(fate == SU_ROUTE_forward_server_gue && bytes_equal("decap v0", k.data, k.len, want, n),
	      "decap variant 0 (v4 in v4) from a trusted peer, re-encapsulated to the server (%s)",
	      fate_name(fate));

	/* Variant 0 with Hlen 2: eight bytes of optional fields skipped uninterpreted (3.4). */
	{
		const uint8_t hdr[12] = { 0x02, 41, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4 };

		pkt_gue(&k, 6, "2001:db8:aaaa::9", hdr, 12, 6, "2001:db8:5::1", "2001:db8:100::10",
			IPPROTO_TCP, 40000, 4500, 5);
		inner_len = put_datagram(inner, 6, "2001:db8:5::1", "2001:db8:100::10", IPPROTO_TCP,
					 40000, 4500, 5);
		fate = route(v, &k);
		n = expect_gue(want, m, O_SRV_GUE0_6, gue_sport(&k), inner, inner_len, 6);
		CHECK(fate == SU_ROUTE_forward_server_gue &&
			      bytes_equal("decap v0 hlen", k.data, k.len, want, n),
		      "decap variant 0 with Hlen 2 over IPv6, v6 inner, to a GUE0 server (%s)",
		      fate_name(fate));
	}

	/* Variant 1, IPv6 inside IPv4, for an L2 server: a fresh Ethernet header in front of the
	 * inner packet; the outer frame's Ethernet padding dropped. */
	pkt_gue(&k, 4, "203.0.113.200", NULL, 0, 6, "2001:db8:5::1", "2001:db8:100::10",
		IPPROTO_UDP, 40000, 2222, 3);
	memset(k.data + k.len, 0, 5);
	k.len += 5;
	inner_len = put_datagram(inner, 6, "2001:db8:5::1", "2001:db8:100::10", IPPROTO_UDP, 40000,
				 2222, 3);
	fate = route(v, &k);
	n = put_eth(want, m->owners[O_L2].next_hop_mac, host_mac, 0x86dd);
	memcpy(want + n, inner, inner_len);
	n += inner_len;
	CHECK(fate == SU_ROUTE_forward_server_l2 && bytes_equal("decap v1 l2", k.data, k.len, want, n),
	      "decap variant 1 (v6 in v4) to an L2 server: fresh Ethernet header (%s)",
	      fate_name(fate));

	/* Variant 1 with an inner IPv4 behind a tagged outer frame. */
	pkt_gue(&k, 4, "203.0.113.200", NULL, 0, 4, "192.0.2.77", "198.51.100.10", IPPROTO_TCP,
		40000, 2999, 0);
	memmove(k.data + 18, k.data + 14, k.len - 14);
	put16(k.data + 12, 0x8100);
	put16(k.data + 14, 5);
	put16(k.data + 16, 0x0800);
	k.len += 4;
	inner_len = put_datagram(inner, 4, "192.0.2.77", "198.51.100.10", IPPROTO_TCP, 40000, 2999, 0);
	fate = route(v, &k);
	n = put_eth(want, m->owners[O_L2].next_hop_mac, host_mac, 0x0800);
	memcpy(want + n, inner, inner_len);
	n += inner_len;
	CHECK(fate == SU_ROUTE_forward_server_l2 &&
		      bytes_equal("decap v1 vlan", k.data, k.len, want, n),
	      "decap variant 1 from a VLAN: the fresh header has no tag (%s)", fate_name(fate));

	/* Outer checksums: a non-zero UDP checksum is verified (draft 5.8), over either family,
	 * and so is the outer IPv4 header's. */
	{
		const struct {
			uint8_t outer;
			const char *src;
			int corrupt; /* 0: none, 1: UDP checksum, 2: IPv4 header checksum */
			enum su_route_counter fate;
			const char *what;
		} cases[] = {
			{ 4, "203.0.113.9", 0, SU_ROUTE_forward_server_gue,
			  "a correct UDP checksum over IPv4: forwarded" },
			{ 4, "203.0.113.9", 1, SU_ROUTE_drop_malformed,
			  "a wrong UDP checksum over IPv4: drop_malformed" },
			{ 4, "203.0.113.9", 2, SU_ROUTE_drop_malformed,
			  "a wrong outer IPv4 header checksum: drop_malformed" },
			{ 6, "2001:db8:aaaa::9", 0, SU_ROUTE_forward_server_gue,
			  "a correct UDP checksum over IPv6: forwarded" },
			{ 6, "2001:db8:aaaa::9", 1, SU_ROUTE_drop_malformed,
			  "a wrong UDP checksum over IPv6: drop_malformed" },
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			pkt_gue(&k, cases[i].outer, cases[i].src, v0_ipv4, 4, 4, "192.0.2.77",
				"198.51.100.10", IPPROTO_UDP, 40000, 3500, 31);
			set_outer_udp_csum(&k);
			if (cases[i].corrupt == 1)
				k.data[k.len - 1] ^= 0x40;
			if (cases[i].corrupt == 2)
				k.data[14 + 8] ^= 1; /* TTL */
			fate = route(v, &k);
			CHECK(fate == cases[i].fate, "GUE with %s (%s)", cases[i].what, fate_name(fate));
		}
	}

	/* The drops of decapsulation. */
	pkt_gue(&k, 4, "198.18.0.1", v0_ipv4, 4, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
		40000, 3500, 0);
	pkt_save(&orig, &k);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_untrusted_gue && memcmp(k.data, orig.data, k.len) == 0,
	      "GUE from an untrusted source: drop_untrusted_gue (%s)", fate_name(fate));
	pkt_gue(&k, 6, "2001:db8:aaab::1", v0_ipv4, 4, 4, "192.0.2.77", "198.51.100.10",
		IPPROTO_UDP, 40000, 3500, 0);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_untrusted_gue,
	      "GUE over IPv6 from outside the trusted /48: drop_untrusted_gue (%s)", fate_name(fate));
	pkt_gue(&k, 4, "203.0.113.9", v0_ipv4, 4, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
		40000, 5500, 0);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_loop, "GUE for another data centre: drop_loop (%s)",
	      fate_name(fate));
	pkt_gue(&k, 4, "203.0.113.9", v0_ipv4, 4, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
		40000, 1500, 0);
	fate = kernels(v, &k);
	CHECK(fate == SU_ROUTE_decap_local,
	      "GUE for a local slice: decap_local in XDP, drop_local in a worker (%s)", fate_name(fate));
	pkt_gue(&k, 4, "203.0.113.9", v0_ipv4, 4, 4, "192.0.2.77", "198.51.100.99", IPPROTO_UDP,
		40000, 3500, 0);
	fate = route(v, &k);
	/* Never an open relay (issue 12): only slices we manage are taken out of a tunnel. */
	CHECK(fate == SU_ROUTE_drop_gue_not_managed,
	      "GUE for an address no slice covers: drop_gue_not_managed (%s)", fate_name(fate));
	{
		const uint8_t flags[4] = { 0x00, 4, 0x80, 0 }, control[4] = { 0x20, 0, 0, 0 },
			      variant2[4] = { 0x80, 4, 0, 0 }, variant3[4] = { 0xc0, 4, 0, 0 },
			      udp_proto[4] = { 0x00, 17, 0, 0 }, long_hlen[4] = { 0x1f, 4, 0, 0 };

		pkt_gue(&k, 4, "203.0.113.9", flags, 4, 4, "192.0.2.77", "198.51.100.10",
			IPPROTO_UDP, 40000, 3500, 0);
		fate = route(v, &k);
		CHECK(fate == SU_ROUTE_drop_gue_flags, "GUE with a flag set: drop_gue_flags (%s)",
		      fate_name(fate));
		pkt_gue(&k, 4, "203.0.113.9", control, 4, 4, "192.0.2.77", "198.51.100.10",
			IPPROTO_UDP, 40000, 3500, 0);
		fate = route(v, &k);
		CHECK(fate == SU_ROUTE_drop_gue_control,
		      "GUE control message (C bit): drop_gue_control (%s)", fate_name(fate));
		pkt_gue(&k, 4, "203.0.113.9", variant2, 4, 4, "192.0.2.77", "198.51.100.10",
			IPPROTO_UDP, 40000, 3500, 0);
		fate = route(v, &k);
		pkt_gue(&k, 4, "203.0.113.9", variant3, 4, 4, "192.0.2.77", "198.51.100.10",
			IPPROTO_UDP, 40000, 3500, 0);
		CHECK(fate == SU_ROUTE_drop_gue_variant && route(v, &k) == SU_ROUTE_drop_gue_variant,
		      "GUE variants 2 and 3: drop_gue_variant (%s)", fate_name(fate));
		pkt_gue(&k, 4, "203.0.113.9", v0_ipv6, 4, 4, "192.0.2.77", "198.51.100.10",
			IPPROTO_UDP, 40000, 3500, 0);
		fate = route(v, &k);
		CHECK(fate == SU_ROUTE_drop_gue_proto,
		      "GUE Proto 41 around an IPv4 packet: drop_gue_proto (%s)", fate_name(fate));
		pkt_gue(&k, 4, "203.0.113.9", udp_proto, 4, 4, "192.0.2.77", "198.51.100.10",
			IPPROTO_UDP, 40000, 3500, 0);
		fate = route(v, &k);
		CHECK(fate == SU_ROUTE_drop_gue_proto, "GUE Proto 17: drop_gue_proto (%s)",
		      fate_name(fate));
		pkt_gue(&k, 4, "203.0.113.9", long_hlen, 4, 4, "192.0.2.77", "198.51.100.10",
			IPPROTO_UDP, 40000, 3500, 0);
		fate = route(v, &k);
		CHECK(fate == SU_ROUTE_drop_malformed,
		      "GUE Hlen past the end of the payload: drop_malformed (%s)", fate_name(fate));
	}
	/* Variant 1 whose first nibble is 5: neither IPv4 nor IPv6. */
	pkt_gue(&k, 4, "203.0.113.9", NULL, 0, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
		40000, 3500, 0);
	k.data[14 + 20 + 8] = 0x55;
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_gue_proto, "GUE variant 1 with version 5: drop_gue_proto (%s)",
	      fate_name(fate));
	/* A fragmented inner packet. */
	pkt_gue(&k, 4, "203.0.113.9", v0_ipv4, 4, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
		40000, 3500, 0);
	put16(k.data + 14 + 20 + 8 + 4 + 6, 0x2000);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_forward_server_gue,
	      "GUE around a first fragment: steered by its ports (%s)", fate_name(fate));
	/* Lengths that disagree (issue 19): the UDP length with the IP length, the inner length
	 * with the UDP payload; each is drop_gue_length. */
	pkt_gue(&k, 4, "203.0.113.9", v0_ipv4, 4, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
		40000, 3500, 0);
	put16(k.data + 14 + 20 + 4, (uint16_t)(get16(k.data + 14 + 20 + 4) - 1));
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_gue_length,
	      "UDP length one short of the IP datagram: drop_gue_length (%s)", fate_name(fate));
	pkt_gue(&k, 4, "203.0.113.9", v0_ipv4, 4, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
		40000, 3500, 0);
	put16(k.data + 14 + 20 + 4, 0xffff);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_gue_length,
	      "UDP length longer than the IP datagram: drop_gue_length (%s)", fate_name(fate));
	pkt_gue(&k, 4, "203.0.113.9", v0_ipv4, 4, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
		40000, 3500, 0);
	put16(k.data + 14 + 20 + 8 + 4 + 2, (uint16_t)(get16(k.data + 14 + 20 + 8 + 4 + 2) + 1));
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_gue_length,
	      "inner length one past the UDP payload: drop_gue_length (%s)", fate_name(fate));
	pkt_gue(&k, 4, "203.0.113.9", v0_ipv4, 4, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
		40000, 3500, 4);
	put16(k.data + 14 + 20 + 8 + 4 + 2, (uint16_t)(get16(k.data + 14 + 20 + 8 + 4 + 2) - 1));
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_gue_length,
	      "inner length one short of the UDP payload: drop_gue_length (%s)", fate_name(fate));
	/* GUE to this host but another port: an ordinary packet, to an address no slice covers. */
	pkt_gue(&k, 4, "203.0.113.9", v0_ipv4, 4, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
		40000, 3500, 0);
	put16(k.data + 14 + 20 + 2, 6081);
	fate = kernels(v, &k);
	CHECK(fate == SU_ROUTE_pass_unmanaged, "UDP to the host on another port: pass_unmanaged (%s)",
	      fate_name(fate));
}

/* Our own encapsulation, received by the data centre it was sent to: that data centre's fast
 * path unwraps it (checksums and all) and hands the untouched inner packet to its server. */
static void test_round_trip(const struct su_view *v)
{
	struct img dc;
	struct su_view *dv = NULL;
	struct su_error err;
	uint32_t server;

	img_init(&dc);
	parse_addr(4, "203.0.113.5", dc.h.host.ipv4);
	parse_addr(6, "2001:db8:aaaa::6", dc.h.host.ipv6);
	add_trusted(&dc, 4, "192.0.2.0", 24);
	add_trusted(&dc, 6, "2001:db8:ffff::", 48);
	server = add_owner(&dc, SU_OWNER_SERVER, SU_ENCAP_L2, SU_FAMILY_NONE, NULL, 0x77);
	add_key(&dc, 4, "198.51.100.0", 24, IPPROTO_UDP);
	add_range(&dc, 5000, 6999, server);
	if (img_build(&dc, &dv, &err)) {
		CHECK(0, "builds the receiving data centre's table: %s", err.message);
		return;
	}
	for (int i = 0; i < 2; i++) {
		struct pkt k;
		uint8_t inner[2048];
		uint32_t inner_len;
		enum su_route_counter first, second;

		pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000,
			  i ? 6100 : 5100, 101);
		inner_len = k.len - 14;
		memcpy(inner, k.data + 14, inner_len);
		first = route(v, &k);
		second = route(dv, &k);
		CHECK(first == SU_ROUTE_encap_datacenter && second == SU_ROUTE_forward_server_l2 &&
			      k.len == 14 + inner_len && memcmp(k.data + 14, inner, inner_len) == 0 &&
			      k.data[5] == 0x77,
		      "round trip over IPv%d: encapsulated here (%s), unwrapped there (%s), inner "
		      "packet intact",
		      i ? 6 : 4, fate_name(first), fate_name(second));
	}
	su_view_free(dv);
}

static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return fake_now;
}

/* A piece of a fragmented UDP datagram to 198.51.100.10:2000 (an L2 owner): IPv4 with `id` and
 * the flags/offset word `frag`; a later piece (offset) carries payload where the ports were. */
static void pkt_piece4(struct pkt *k, uint16_t id, uint16_t frag)
{
	pkt_plain(k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 1, 2000, 16);
	put16(k->data + 14 + 4, id);
	put16(k->data + 14 + 6, frag);
}

/* The same over IPv6: a fragment header with `id` and `frag`, then the UDP header or payload. */
static void pkt_piece6(struct pkt *k, uint32_t id, uint16_t frag)
{
	uint32_t n;
	uint8_t *e;

	pkt_init(k);
	n = put_eth(k->data, host_mac, peer_mac, 0x86dd);
	put_ip(k->data + n, 6, "2001:db8:5::1", "2001:db8:100::10", 44, 8 + 8 + 16);
	e = k->data + n + 40;
	memset(e, 0, 8);
	e[0] = IPPROTO_UDP;
	put16(e + 2, frag);
	put16(e + 4, (uint16_t)(id >> 16));
	put16(e + 6, (uint16_t)id);
	put_l4(e + 8, IPPROTO_UDP, 1, 2000, 16);
	k->len = n + 40 + 8 + 8 + 16;
}

static enum su_route_counter route_frags(const struct su_view *v, struct su_frag_table *t,
					 struct pkt *k)
{
	return su_core_route_frags(v, t, &k->data, &k->len, (uint32_t)(k->data - k->buf));
}

/* Later pieces follow their first through the fragment table; unseen or expired ones do not. */
static void test_fragments(const struct su_view *v)
{
	/* In order, on one table: family, identification, flags/offset word (IPv4) or fragment
	 * header word (IPv6), seconds to let pass first, and the fate. */
	static const struct {
		uint8_t family;
		uint32_t id;
		uint16_t frag;
		uint32_t wait_s;
		enum su_route_counter fate;
		const char *what;
	} steps[] = {
		{ 4, 77, 0x2000, 0, SU_ROUTE_forward_server_l2, "IPv4 first piece: steered by its ports" },
		{ 4, 77, 0x2003, 0, SU_ROUTE_forward_server_l2, "IPv4 later piece: follows its first" },
		{ 4, 77, 0x0006, 0, SU_ROUTE_forward_server_l2, "IPv4 last piece (MF clear) too" },
		{ 4, 78, 0x0003, 0, SU_ROUTE_drop_fragment, "a piece whose first was not seen: dropped" },
		{ 4, 77, 0x0006, 31, SU_ROUTE_drop_fragment, "a piece 31 s later: expired, dropped" },
		{ 6, 0x12345678, 0x0001, 0, SU_ROUTE_forward_server_l2, "IPv6 first piece: by its ports" },
		{ 6, 0x12345678, 0x0010, 0, SU_ROUTE_forward_server_l2, "IPv6 later piece follows" },
		{ 6, 0x12345679, 0x0010, 0, SU_ROUTE_drop_fragment, "IPv6 piece of another datagram" },
	};
	struct su_frag_table *t = su_frag_table_new_clock(8, fake_clock);
	enum su_route_counter fate;
	struct pkt k;

	CHECK(su_frag_table_new(6) == NULL, "a fragment table needs a power of two of entries");
	fake_now = 1000;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		fake_now += steps[i].wait_s * 1000000000ull;
		if (steps[i].family == 4)
			pkt_piece4(&k, (uint16_t)steps[i].id, steps[i].frag);
		else
			pkt_piece6(&k, steps[i].id, steps[i].frag);
		fate = route_frags(v, t, &k);
		/* Forwarded pieces go to the L2 owner's MAC address. */
		CHECK(fate == steps[i].fate &&
			      (fate != SU_ROUTE_forward_server_l2 || k.data[5] == 0x22),
		      "%s (%s)", steps[i].what, fate_name(fate));
	}
	/* More datagrams than entries: the table stays bounded, the newest are kept. */
	for (uint16_t id = 100; id < 140; id++) {
		pkt_piece4(&k, id, 0x2000);
		route_frags(v, t, &k);
	}
	pkt_piece4(&k, 139, 0x0003);
	fate = route_frags(v, t, &k);
	CHECK(fate == SU_ROUTE_forward_server_l2,
	      "after 40 datagrams through 8 entries, the newest still followed (%s)", fate_name(fate));
	su_frag_table_free(t);
}

/* `frame` cut to `cut` bytes in a buffer of exactly that size (its IPv4 total length cut too
 * when `fix_length`): the XDP program's fate, when a worker says drop_local for the kernel's
 * packets and the same fate for the rest; else SU_ROUTE_COUNTER_COUNT. */
static enum su_route_counter truncated(const struct su_view *v, const uint8_t *frame, uint32_t cut,
				       int fix_length)
{
	uint8_t *a = malloc(HEADROOM + cut), *b = malloc(HEADROOM + cut);
	uint8_t *da = a + HEADROOM, *db = b + HEADROOM;
	uint32_t la = cut, lb = cut, owner;
	enum su_route_counter xdp, worker;

	memcpy(da, frame, cut);
	if (fix_length)
		put16(da + 14 + 2, (uint16_t)(cut - 14));
	memcpy(db, da, cut);
	xdp = su_core_route_as_xdp(v, NULL, &da, &la, HEADROOM, &owner);
	worker = su_core_route(v, &db, &lb, HEADROOM);
	free(a);
	free(b);
	if (SU_ROUTE_PASSES(xdp) || xdp == SU_ROUTE_decap_local)
		return worker == SU_ROUTE_drop_local ? xdp : SU_ROUTE_COUNTER_COUNT;
	return worker == xdp ? xdp : SU_ROUTE_COUNTER_COUNT;
}

static void test_route_parse(const struct su_view *v)
{
	struct pkt k;
	enum su_route_counter fate;
	uint32_t n;

	/* IPv4 with options: IHL 7. */
	pkt_init(&k);
	n = put_eth(k.data, host_mac, peer_mac, 0x0800);
	put_ip(k.data + n, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 8 + 8);
	k.data[n] = 0x47;
	put16(k.data + n + 2, 28 + 8 + 8);
	memset(k.data + n + 20, 1, 8); /* NOPs */
	put_l4(k.data + n + 28, IPPROTO_UDP, 1, 5000, 8);
	k.len = n + 28 + 16;
	{
		uint8_t inner[64];
		uint8_t want[256];
		uint32_t inner_len = k.len - 14, wn;
		struct img m;

		memcpy(inner, k.data + 14, inner_len);
		fate = route(v, &k);
		routing_table(&m);
		wn = expect_gue(want, &m, O_DC_GUE0_4, gue_sport(&k), inner, inner_len, 4);
		CHECK(fate == SU_ROUTE_encap_datacenter && bytes_equal("options", k.data, k.len, want, wn),
		      "IPv4 with options: ports found after IHL, options kept (%s)", fate_name(fate));
	}

	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 1, 2000, 0);
	put16(k.data + 14 + 6, 0x2000);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_forward_server_l2, "IPv4 first fragment (MF): steered by its ports (%s)",
	      fate_name(fate));
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 1, 2000, 0);
	put16(k.data + 14 + 6, 0x0001);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_fragment,
	      "IPv4 later fragment (offset), no fragment table: drop_fragment (%s)", fate_name(fate));
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 1, 2000, 0);
	put16(k.data + 14 + 6, 0x4000);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_forward_server_l2, "IPv4 with DF only is whole (%s)", fate_name(fate));

	/* IPv6: hop-by-hop, destination options, routing header, then UDP. */
	pkt_init(&k);
	n = put_eth(k.data, host_mac, peer_mac, 0x86dd);
	put_ip(k.data + n, 6, "2001:db8:5::1", "2001:db8:100::10", 0, 8 + 16 + 24 + 8);
	{
		uint8_t *e = k.data + n + 40;

		memset(e, 0, 48);
		e[0] = 60; /* hop-by-hop, 8 bytes, next: destination options */
		e[8] = 43; /* destination options, 16 bytes, next: routing */
		e[9] = 1;
		e[24] = 17; /* routing, 24 bytes, next: UDP */
		e[25] = 2;
		put_l4(e + 48, IPPROTO_UDP, 1, 2000, 0);
	}
	k.len = n + 40 + 48 + 8;
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_forward_server_l2,
	      "IPv6 extension headers walked to the UDP port (%s)", fate_name(fate));
	/* Fragment headers: an atomic fragment is whole (RFC 6946), others are pieces. */
	for (int i = 0; i < 3; i++) {
		static const uint16_t offsets[3] = { 0x0000, 0x0001, 0x0008 };
		static const enum su_route_counter fates[3] = { SU_ROUTE_forward_server_l2,
							       SU_ROUTE_forward_server_l2,
							       SU_ROUTE_drop_fragment };
		static const char *what[3] = { "atomic fragment: forwarded",
					       "first fragment (M): steered by its ports",
					       "later fragment (offset), no table: drop_fragment" };
		uint8_t *e;

		pkt_init(&k);
		n = put_eth(k.data, host_mac, peer_mac, 0x86dd);
		put_ip(k.data + n, 6, "2001:db8:5::1", "2001:db8:100::10", 44, 8 + 20);
		e = k.data + n + 40;
		memset(e, 0, 8);
		e[0] = IPPROTO_TCP;
		put16(e + 2, offsets[i]);
		put_l4(e + 8, IPPROTO_TCP, 1, 2000, 0);
		k.len = n + 40 + 8 + 20;
		fate = route(v, &k);
		CHECK(fate == fates[i], "IPv6 %s (%s)", what[i], fate_name(fate));
	}
	/* Nine destination options headers: more than the walk allows. */
	pkt_init(&k);
	n = put_eth(k.data, host_mac, peer_mac, 0x86dd);
	put_ip(k.data + n, 6, "2001:db8:5::1", "2001:db8:100::10", 60, 9 * 8 + 8);
	memset(k.data + n + 40, 0, 9 * 8);
	for (int i = 0; i < 9; i++)
		k.data[n + 40 + i * 8] = i < 8 ? 60 : 17;
	put_l4(k.data + n + 40 + 72, IPPROTO_UDP, 1, 2000, 0);
	k.len = n + 40 + 72 + 8;
	fate = route(v, &k);
	/* Past the walk the kernel would answer for the owner (issue 12): dropped, by name. */
	CHECK(fate == SU_ROUTE_drop_ipv6_chain, "nine IPv6 extension headers: drop_ipv6_chain (%s)",
	      fate_name(fate));
	/* An extension header running past the datagram. */
	pkt_init(&k);
	n = put_eth(k.data, host_mac, peer_mac, 0x86dd);
	put_ip(k.data + n, 6, "2001:db8:5::1", "2001:db8:100::10", 0, 16);
	memset(k.data + n + 40, 0, 16);
	k.data[n + 40] = 17;
	k.data[n + 41] = 2; /* 24 bytes claimed, 16 present */
	k.len = n + 40 + 16;
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_malformed,
	      "IPv6 extension header longer than the datagram: drop_malformed (%s)", fate_name(fate));

	/* Malformed frames, each one field off: to a managed address they are dropped; what ends
	 * before the addresses, or is no IP, TCP or UDP, is the kernel's (pass_unparsed). */
	struct {
		const char *what;
		uint32_t off;  /* byte to change in a plain IPv4/UDP frame */
		int value;     /* new byte value, or -1 to cut the frame to `off` bytes */
		enum su_route_counter fate; /* as the XDP program decides */
	} bad[] = {
		{ "a frame shorter than Ethernet", 13, -1, SU_ROUTE_pass_unparsed },
		{ "an ARP frame", 13, 0x06, SU_ROUTE_pass_unparsed },
		{ "an IPv4 EtherType around IPv6", 14, 0x65, SU_ROUTE_pass_unparsed },
		{ "IHL 4", 14, 0x44, SU_ROUTE_drop_malformed },
		{ "IHL beyond the total length", 14, 0x4f, SU_ROUTE_drop_malformed },
		{ "a total length beyond the frame", 16, 0x01, SU_ROUTE_drop_malformed },
		{ "a total length shorter than the header", 17, 19, SU_ROUTE_drop_malformed },
		{ "a truncated IPv4 header", 14 + 19, -1, SU_ROUTE_pass_unparsed },
		{ "ICMP", 14 + 9, 1, SU_ROUTE_pass_unparsed },
		{ "a truncated UDP header", 14 + 20 + 7, -1, SU_ROUTE_drop_malformed },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 1, 2000, 0);
		if (bad[i].value < 0) {
			k.len = bad[i].off;
			/* keep the IP length consistent so that only the cut is wrong */
			if (k.len > 17)
				put16(k.data + 16, (uint16_t)(k.len - 14));
		} else {
			k.data[bad[i].off] = (uint8_t)bad[i].value;
		}
		fate = bad[i].fate == SU_ROUTE_pass_unparsed ? kernels(v, &k) : route(v, &k);
		CHECK(fate == bad[i].fate, "%s: %s (%s)", bad[i].what, fate_name(bad[i].fate),
		      fate_name(fate));
	}
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_TCP, 1, 2000, 0);
	put16(k.data + 16, 20 + 19);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_malformed,
	      "a TCP header cut short by the IP total length: drop_malformed (%s)", fate_name(fate));
	pkt_plain(&k, 6, "2001:db8:5::1", "2001:db8:100::10", IPPROTO_UDP, 1, 2000, 0);
	put16(k.data + 14 + 4, 0);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_malformed, "IPv6 payload length 0 (jumbogram): drop_malformed (%s)",
	      fate_name(fate));
	pkt_plain(&k, 6, "2001:db8:5::1", "2001:db8:100::10", IPPROTO_UDP, 1, 2000, 0);
	put16(k.data + 14 + 4, 9);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_malformed,
	      "IPv6 payload length beyond the frame: drop_malformed (%s)", fate_name(fate));
	/* Three VLAN tags: the third is not IP. */
	pkt_init(&k);
	n = put_eth(k.data, host_mac, peer_mac, 0x88a8);
	for (int i = 0; i < 3; i++) {
		put16(k.data + n, 1);
		put16(k.data + n + 2, i < 2 ? 0x8100 : 0x0800);
		n += 4;
	}
	n += put_datagram(k.data + n, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 1, 2000, 0);
	k.len = n;
	fate = kernels(v, &k);
	CHECK(fate == SU_ROUTE_pass_unparsed, "three VLAN tags: not IP to us, pass_unparsed (%s)",
	      fate_name(fate));
	/* Every truncation of a valid GUE frame is decided without reading past it (valgrind
	 * watches the reads: the frame is copied to a buffer of exactly its length) and never
	 * unwrapped. Cut as it is, its IP length says more than is there and its destination is
	 * this host's own address: the kernel's, which drops it. With the IP length cut to match,
	 * the UDP header is whole from 42 bytes on, and its length disagrees. */
	{
		const uint8_t hdr[8] = { 0x01, 4, 0, 0, 9, 9, 9, 9 };
		uint32_t bad_fates = 0, bad_fixed = 0;

		pkt_gue(&k, 4, "203.0.113.9", hdr, 8, 4, "192.0.2.77", "198.51.100.10", IPPROTO_TCP,
			1, 3000, 0);
		for (uint32_t cut = 0; cut < k.len; cut++) {
			enum su_route_counter fixed = cut < 14 + 20 + 8 ? SU_ROUTE_pass_unparsed :
									  SU_ROUTE_drop_gue_length;

			bad_fates += truncated(v, k.data, cut, 0) != SU_ROUTE_pass_unparsed;
			if (cut >= 14 + 20)
				bad_fixed += truncated(v, k.data, cut, 1) != fixed;
		}
		CHECK(bad_fates == 0 && bad_fixed == 0,
		      "all %u truncations of a GUE frame: the kernel's (%u not), and with the IP "
		      "length cut too, pass_unparsed or drop_gue_length (%u not)",
		      k.len, bad_fates, bad_fixed);
	}
}

/* ---- Mutations ---------------------------------------------------------------------------
 * Valid frames and images with random bytes changed, routed and built from buffers of their
 * exact size: valgrind (or ASan) reports any read outside them. Every fate must be a real one,
 * and a transmitted frame must lie within the buffer. Deterministic: a fixed xorshift seed. */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static void test_mutations(const struct img *m, const struct su_view *v)
{
	static const uint8_t v0_hdr[8] = { 0x01, 4, 0, 0, 1, 2, 3, 4 }, v0_6[4] = { 0, 41, 0, 0 };
	struct pkt seeds[5];
	uint32_t bad_fate = 0, out_of_bounds = 0, runs = 0, sent = 0, accepted = 0, bad_code = 0;

	pkt_plain(&seeds[0], 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 1, 5000, 20);
	pkt_plain(&seeds[1], 6, "2001:db8:5::1", "2001:db8:100::10", IPPROTO_TCP, 1, 4000, 20);
	pkt_gue(&seeds[2], 4, "203.0.113.9", v0_hdr, 8, 4, "192.0.2.77", "198.51.100.10",
		IPPROTO_UDP, 1, 3000, 20);
	pkt_gue(&seeds[3], 6, "2001:db8:aaaa::1", v0_6, 4, 6, "2001:db8:5::1", "2001:db8:100::10",
		IPPROTO_UDP, 1, 2000, 20);
	pkt_gue(&seeds[4], 4, "203.0.113.9", NULL, 0, 6, "2001:db8:5::1", "2001:db8:100::10",
		IPPROTO_TCP, 1, 4500, 20);
	for (uint32_t i = 0; i < 20000; i++) {
		const struct pkt *seed = &seeds[i % 5];
		uint32_t len = seed->len - (rng() % 4 == 0 ? rng() % seed->len : 0), given = len;
		uint8_t *copy = malloc(HEADROOM + len), *data = copy + HEADROOM;
		enum su_route_counter fate;

		memcpy(data, seed->data, len);
		for (uint32_t n = 1 + rng() % 3; n > 0 && len > 0; n--)
			data[rng() % len] = (uint8_t)rng();
		fate = su_core_route(v, &data, &len, HEADROOM);
		bad_fate += (unsigned)fate >= SU_ROUTE_COUNTER_COUNT;
		if (SU_ROUTE_TRANSMITS(fate)) {
			sent++;
			out_of_bounds += data < copy || data + len > copy + HEADROOM + given;
		}
		runs++;
		free(copy);
	}
	CHECK(bad_fate == 0 && out_of_bounds == 0,
	      "%u mutated frames: every fate real (%u not), every output inside its buffer (%u "
	      "not; %u sent)",
	      runs, bad_fate, out_of_bounds, sent);

	{
		static uint8_t image[sizeof(struct img)];
		size_t n = img_bytes(m, image);

		runs = 0;
		for (uint32_t i = 0; i < 5000; i++) {
			uint8_t *copy = malloc(n);
			struct su_view *mv = NULL;
			struct su_error err;

			memcpy(copy, image, n);
			/* Past the header's counts, which would only ever fail the size check. */
			for (uint32_t k = 1 + rng() % 2; k > 0; k--) {
				size_t at = rng() % n;

				if (at < 16 || at >= 32)
					copy[at] = (uint8_t)rng();
			}
			if (su_view_build(copy, n, &mv, &err) == 0) {
				accepted++;
				for (uint32_t s = 0; s < 5; s++) {
					struct pkt k;

					pkt_save(&k, &seeds[s]);
					route(mv, &k);
				}
				su_view_free(mv);
			} else if (strcmp(err.code, "ERR_INVALID_TABLE") != 0) {
				bad_code++;
			}
			runs++;
			free(copy);
		}
		CHECK(bad_code == 0, "%u mutated images: each built (%u) or refused as "
				     "ERR_INVALID_TABLE (%u not), accepted ones route",
		      runs, accepted, bad_code);
	}
}

int main(void)
{
	struct img m;
	struct su_view *v = NULL;
	struct su_error err;

	test_image_checks();
	test_lookup();
	routing_table(&m);
	if (img_build(&m, &v, &err)) {
		CHECK(0, "builds the routing table: %s", err.message);
	} else {
		test_route_plain(&m, v);
		test_route_decap(&m, v);
		test_route_parse(v);
		test_fragments(v);
		test_round_trip(v);
		test_mutations(&m, v);
		su_view_free(v);
		test_route_no_source(&m);
	}
	test_million_keys();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
