/* Tests native/core's lookup without Node or root: slices found across prefix lengths, ports and
 * protocols, and a table of a million keys. Run under valgrind by test/unit/core-native.test.ts. */
#include "core_fixture.h"

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

int main(void)
{
	test_lookup();
	test_million_keys();
	return summary();
}
