/* The workers' compiled table (struct su_view): the checked image, its lookup index, and the
 * forms the packet path reads (native/core/tables.h), all worked out once when the table is
 * built so that each packet pays only for what depends on the packet. Private to native/core
 * and the addon (which copies the same forms into the XDP program's maps); everyone else goes
 * through softunicast/core.h. User space only. */
#ifndef SU_CORE_VIEW_INDEX_H
#define SU_CORE_VIEW_INDEX_H

#include <endian.h>
#include <stddef.h>
#include <stdint.h>

#include "softunicast/core.h"
#include "tables.h"

/* A slice key as the workers' index holds it: 32 bytes in a cache-aligned array, so that a
 * lookup touches one line per key. */
struct su_view_key {
	uint32_t meta; /* family, prefix length, protocol, 0, as su_load32 reads them */
	struct su_key_ranges r;
	uint8_t addr[16]; /* network order, host bits zero */
};
_Static_assert(sizeof(struct su_view_key) == 32, "two keys to a cache line");

/* One slot of the open-addressing index. `key` is the slice key's index plus one (0: empty
 * slot); `tag` is the high half of the key's hash, compared before touching the key itself so
 * that a miss rarely costs a second cache line. Eight bytes, so that a million keys take 16 MiB. */
struct su_view_slot {
	uint32_t tag;
	uint32_t key;
};

/* A flow-hash service (or an address-only entry, rows 0) as the workers' index holds it: sorted
 * by su_flow_key_cmp, halved by su_view_flow_find. */
struct su_view_flow {
	struct su_flow_key key;
	struct su_flow_svc svc;
};

struct su_view {
	/* Lengths present, flow hash starts, host, counts, generation: the lookup's first read. */
	struct su_meta meta;
	const struct su_table_header *header; /* &header_copy */
	struct su_table_header header_copy;
	const struct su_prefix *trusted;
	const struct su_peer *peers; /* sorted by (family, addr) */
	const struct su_owner *owners;
	const struct su_port_range *ranges;
	void *image; /* the copy: header, trusted prefixes, peers, owners and ranges (not the keys) */
	struct su_view_key *keys; /* the image's keys, in their lookup form */

	/* Owner i of the image forwards through fwd[i]. */
	struct su_fwd *fwd;

	struct su_view_slot *slots;
	uint64_t slot_mask;  /* capacity - 1, capacity a power of two >= 2 * key_count */
	uint32_t slot_shift; /* 64 - log2(capacity): a hash's top bits pick its home slot */
	/* The longest probe sequence any key needed at build time: lookups stop after this many
	 * slots, a bound known in advance. */
	uint32_t max_probe;

	/* The flow-hash section (view_flow.c): its services and their addresses, and its rows. */
	struct su_view_flow *flow;
	uint32_t flow_count;
	uint32_t flow_service_count; /* of flow_count, the services (the rest: addresses) */
	struct su_flow_row *flow_rows;
	uint64_t flow_row_count;
};

/* The index hashes: a multiply by an odd constant, whose top bits pick the slot (multiply-shift,
 * Dietzfelbinger et al. 1997) and whose high half is the tag. Keys are chosen by the operator,
 * not by whoever sends packets, and a lookup probes at most max_probe slots, so a short hash is
 * enough; it must only spread the runs of neighbouring addresses operators hand out. Addresses
 * enter as the numbers they are (big-endian), so neighbours differ in the low bits: the golden
 * ratio then spreads a run evenly (Fibonacci hashing, Knuth 6.4), where machine order would
 * put the difference in the high bits and leave the top ones nearly alike (a model of
 * 125,000 neighbouring IPv4 keys: 1.4 slots per lookup against 5.9, longest probe 2 against
 * 20; random keys probe alike either way). */
#define SU_VIEW_HASH_MUL 0x9e3779b97f4a7c15ULL /* 2^64 / golden ratio, odd */
#define SU_VIEW_HASH_MUL6 0xbf58476d1ce4e5b9ULL

/* IPv4: the address and the key's first word fill one 64-bit word, which the multiply maps one
 * to one. `addr` as loaded. */
static inline uint64_t su_view_hash4(uint32_t addr, uint32_t meta)
{
	return ((uint64_t)meta << 32 | be32toh(addr)) * SU_VIEW_HASH_MUL;
}

/* IPv6: the first word's product brings its bits up to the top before the second joins. */
static inline uint64_t su_view_hash6(uint64_t w0, uint64_t w1, uint32_t meta)
{
	return (((be64toh(w0) ^ meta) * SU_VIEW_HASH_MUL6) ^ be64toh(w1)) * SU_VIEW_HASH_MUL;
}

/* Whether key `k` is (meta, address words): an IPv4 key's bytes 4-15 are zero (checked at
 * build), so its first four bytes are the whole address. */
static inline int su_view_key_is(const struct su_view_key *k, uint32_t meta, uint64_t w0,
				 uint64_t w1, int ipv4)
{
	if (k->meta != meta)
		return 0;
	if (ipv4)
		return su_load32(k->addr) == (uint32_t)w0;
	return su_load64(k->addr) == w0 && su_load64(k->addr + 8) == w1;
}

/* The key (meta, w0, w1), or NULL. Inlined whatever the compiler would choose: a call costs the
 * packet path more than the probe itself. Bounded by the longest probe any key needed: the form
 * of "until an empty slot" that is known in advance. The first slot is always looked at: a
 * table without keys (max_probe 0) has only empty slots, so that look ends it as the bound
 * would. */
SU_INLINE const struct su_key_ranges *su_view_probe(const struct su_view *v, uint32_t meta,
						    uint64_t w0, uint64_t w1, int ipv4)
{
	uint64_t h = ipv4 ? su_view_hash4((uint32_t)w0, meta) : su_view_hash6(w0, w1, meta);
	uint64_t slot = h >> v->slot_shift;
	uint32_t tag = (uint32_t)(h >> 32), probe = 0;

	do {
		const struct su_view_slot *s = &v->slots[slot];

		if (!s->key)
			return NULL;
		if (s->tag == tag) {
			const struct su_view_key *k = &v->keys[s->key - 1];

			/* Keys are unique: the one that matches is the only one. */
			if (su_view_key_is(k, meta, w0, w1, ipv4))
				return &k->r;
		}
		slot = (slot + 1) & v->slot_mask;
	} while (++probe < v->max_probe);
	return NULL;
}

/* The order of the flow-hash index: the key's five 32-bit words as loaded, compared as numbers
 * (any total order does; this one costs five loads). */
SU_INLINE int su_flow_key_cmp(const struct su_flow_key *a, const struct su_flow_key *b)
{
	const uint8_t *x = (const uint8_t *)a, *y = (const uint8_t *)b;

	for (int i = 0; i < (int)sizeof(*a); i += 4) {
		uint32_t p = su_load32(x + i), q = su_load32(y + i);

		if (p != q)
			return p < q ? -1 : 1;
	}
	return 0;
}

/* The flow-hash service (or address entry) `k`, or NULL: the last entry at or below `k`, by
 * halving (at most 32 steps), then one compare. */
SU_INLINE const struct su_flow_svc *su_view_flow_find(const struct su_view *v,
						      const struct su_flow_key *k)
{
	uint32_t lo = 0, n = v->flow_count;

	if (n == 0)
		return NULL;
	while (n > 1) {
		uint32_t half = n / 2;

		if (su_flow_key_cmp(&v->flow[lo + half].key, k) <= 0)
			lo += half;
		n -= half;
	}
	return su_flow_key_cmp(&v->flow[lo].key, k) == 0 ? &v->flow[lo].svc : NULL;
}

/* Checks the image's flow-hash section `s` (services, rows, owners; view_check.c checked its
 * size) and builds the view's flow index from it (view_flow.c). */
int su_view_index_flow(struct su_view *v, const uint8_t *image, const struct su_section *s,
		       struct su_error *err);

/* Whether `addr` (16 bytes, IPv4 in the first 4) lies in one of the trusted GUE peer prefixes. */
int su_view_trusted(const struct su_view *view, uint8_t family, const uint8_t *addr);
/* Whether `addr` is a server of this data centre's. */
int su_view_peer(const struct su_view *view, uint8_t family, const uint8_t *addr);

/* Checks the image's address-slice section `s` (services, rows, owners; view_addr.c) and copies
 * its services into the view's meta and its rows after the flow-hash rows. After
 * su_view_index_flow: a service's rows start after all of flow-hash's. */
int su_view_index_addr(struct su_view *v, const uint8_t *image, const struct su_section *s,
		       struct su_error *err);

#endif /* SU_CORE_VIEW_INDEX_H */
