/* Table images built by hand, field by field, for the C tests (core_*_test.c, router_test.c):
 * the sections of softunicast/table.h back to back, as src/slices/compile.ts lays them out. */
#ifndef SU_TEST_IMAGE_H
#define SU_TEST_IMAGE_H

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "softunicast/core.h"

struct img {
	struct su_table_header h;
	struct su_prefix trusted[80];
	struct su_owner owners[16];
	struct su_slice_key keys[32];
	struct su_port_range ranges[64];
};

static const uint8_t host_mac[6] __attribute__((unused)) = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t peer_mac[6] __attribute__((unused)) = { 0x02, 0, 0, 0, 0, 0x99 }; /* senders' source MAC */

/* Writes 4 or 16 bytes: IPv4 fields of the host are only 4 bytes long. */
static inline void parse_addr(uint8_t family, const char *text, uint8_t *out)
{
	memset(out, 0, family == 4 ? 4 : 16);
	if (inet_pton(family == 4 ? AF_INET : AF_INET6, text, out) != 1) {
		fprintf(stderr, "bad address in test: %s\n", text);
		exit(2);
	}
}

static inline void img_init(struct img *m)
{
	memset(m, 0, sizeof(*m));
	m->h.magic = SU_TABLE_MAGIC;
	m->h.abi_version = SU_ABI_VERSION;
	m->h.generation = 42;
	memcpy(m->h.host.mac, host_mac, 6);
	m->h.host.mtu = 1500;
	m->h.host.gue_port = SU_GUE_DEFAULT_PORT;
	m->h.host.flags = SU_HOST_HAS_IPV4 | SU_HOST_HAS_IPV6;
	m->h.host.flow_hash_seed = 0x5eed;
	parse_addr(4, "192.0.2.1", m->h.host.ipv4);
	parse_addr(6, "2001:db8:ffff::1", m->h.host.ipv6);
}

static inline void add_trusted(struct img *m, uint8_t family, const char *addr, uint8_t len)
{
	struct su_prefix *p = &m->trusted[m->h.trusted_count++];

	p->family = family;
	p->prefix_len = len;
	parse_addr(family, addr, p->addr);
}

static inline uint32_t add_owner(struct img *m, uint8_t kind, uint8_t encap, uint8_t family,
			  const char *endpoint, uint8_t mac_last)
{
	struct su_owner *o = &m->owners[m->h.owner_count];

	o->kind = kind;
	o->encap = encap;
	o->family = family;
	o->gue_port = SU_GUE_DEFAULT_PORT;
	if (endpoint)
		parse_addr(family, endpoint, o->endpoint);
	if (mac_last) {
		uint8_t mac[6] = { 0x02, 0, 0, 0, 0, mac_last };

		memcpy(o->next_hop_mac, mac, 6);
		o->flags = SU_OWNER_NEXT_HOP_KNOWN;
	}
	return m->h.owner_count++;
}

static inline struct su_slice_key *add_key(struct img *m, uint8_t family, const char *addr, uint8_t len,
				    uint8_t protocol)
{
	struct su_slice_key *k = &m->keys[m->h.key_count++];

	k->family = family;
	k->prefix_len = len;
	k->protocol = protocol;
	k->range_first = m->h.range_count;
	parse_addr(family, addr, k->addr);
	return k;
}

/* Adds a range to the last key. */
static inline void add_range(struct img *m, uint16_t first, uint16_t last, uint32_t owner)
{
	struct su_port_range *r = &m->ranges[m->h.range_count++];

	r->first = first;
	r->last = last;
	r->owner = owner;
	m->keys[m->h.key_count - 1].range_count++;
}

/* The image's bytes: the parts back to back, as src/slices/compile.ts lays them out, the keys
 * and ranges listed as the port-slice section. */
static inline size_t img_bytes(const struct img *m, uint8_t *out)
{
	struct su_table_header h = m->h;
	size_t n = 0;

	h.section_count = 1;
	h.sections[0].kind = SU_KEY_KIND_PORT_SLICE;
	h.sections[0].offset = (__u32)(sizeof(h) + h.trusted_count * sizeof(struct su_prefix) +
				       h.owner_count * sizeof(struct su_owner));
	h.sections[0].size = (__u32)(h.key_count * sizeof(struct su_slice_key) +
				     h.range_count * sizeof(struct su_port_range));

#define PUT(src, size)                      \
	do {                                \
		memcpy(out + n, src, size); \
		n += size;                  \
	} while (0)
	PUT(&h, sizeof(h));
	PUT(m->trusted, m->h.trusted_count * sizeof(struct su_prefix));
	PUT(m->owners, m->h.owner_count * sizeof(struct su_owner));
	PUT(m->keys, m->h.key_count * sizeof(struct su_slice_key));
	PUT(m->ranges, m->h.range_count * sizeof(struct su_port_range));
#undef PUT
	return n;
}

static inline int img_build(const struct img *m, struct su_view **v, struct su_error *err)
{
	static uint8_t buf[sizeof(struct img)];
	size_t n = img_bytes(m, buf);

	memset(err, 0, sizeof(*err));
	return su_view_build(buf, n, v, err);
}

#endif /* SU_TEST_IMAGE_H */
