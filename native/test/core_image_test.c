/* Tests native/core's table image checks without Node or root: images built by hand (image.h),
 * every rejection and its message, and the copy a view keeps. Mutated images and frames are
 * core_mutation_test.c's. Run under valgrind by test/unit/core-native.test.ts. */
#include "core_fixture.h"

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
			      "(port-slice) 2 (flow-hash) 3 (address-slice)");
	expect_section_reject(image, n, kind_zero, "key kind 0",
			      "Invalid table image: section 0 has key kind 0, expected one of: 1 "
			      "(port-slice) 2 (flow-hash) 3 (address-slice)");
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

/* Images accepted, and refused for their size, their header's length or their sections. */
static void test_image_sizes(void)
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
}

/* The header: magic, ABI version, host flags, trusted prefixes. */
static void test_header_checks(void)
{
	struct img m;

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
}

/* Owners: kinds, encapsulations, endpoints, flags. */
static void test_owner_checks(void)
{
	struct img m;

	routing_table(&m);
	m.owners[3].kind = 9;
	expect_reject(&m, "an owner of kind 9",
		      "Invalid table image: owner 3 has kind 9, expected 1 (local), 2 (server) or 3 "
		      "(datacenter)");
	routing_table(&m);
	m.owners[2].encap = 4;
	expect_reject(&m, "encapsulation 4",
		      "Invalid table image: owner 2 has encapsulation 4, expected 0 (GUE0), 1 (GUE1), 2 "
		      "(L2) or 3 (GLB)");
	routing_table(&m);
	m.owners[3].encap = SU_ENCAP_GLB;
	expect_reject(&m, "a GLB owner with an IPv6 endpoint",
		      "Invalid table image: owner 3 (GLB) is of kind 2 with endpoint family 6, "
		      "expected a server (2) with an IPv4 endpoint (4)");
	routing_table(&m);
	m.owners[4].encap = SU_ENCAP_GLB;
	expect_reject(&m, "a data centre reached by GLB",
		      "Invalid table image: owner 4 (GLB) is of kind 3 with endpoint family 4, "
		      "expected a server (2) with an IPv4 endpoint (4)");
	routing_table(&m);
	m.owners[2].encap = SU_ENCAP_GLB;
	memset(m.owners[2].endpoint, 0, 4);
	expect_reject(&m, "a GLB owner at 0.0.0.0",
		      "Invalid table image: owner 2 (GLB) has endpoint 0.0.0.0");
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
}

/* Port-slice keys: families, prefixes, protocols. */
static void test_key_checks(void)
{
	struct img m;

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
}

/* Port ranges: within the section, in order, apart, naming owners there are; a key given twice. */
static void test_range_checks(void)
{
	struct img m;

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
}

/* The caller's buffer is copied: changing it afterwards changes nothing. */
static void test_image_copy(void)
{
	struct img m;
	struct su_view *v = NULL;
	struct su_error err;
	uint8_t buf[sizeof(struct img) + 8];
	size_t n;
	int ret;

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

int main(void)
{
	test_image_sizes();
	test_header_checks();
	test_owner_checks();
	test_key_checks();
	test_range_checks();
	test_image_copy();
	return summary();
}
