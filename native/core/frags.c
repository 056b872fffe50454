/* The workers' fragment memory (user.h: su_frag_find, su_frag_save): where each fragmented
 * datagram's first piece went, so that its later pieces follow. Bounded (a power of two of
 * entries, two slots per key, the older one overwritten) and expiring after SU_FRAG_TTL_NS, as a
 * reassembly queue would; an entry answers only for the table generation that made it (after a
 * publish, owner indexes name other owners). One per worker thread, no locking. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow_hash.h"
#include "frags.h"
#include "softunicast/core.h"

struct su_frag_entry {
	struct su_frag_key key;
	struct su_frag_value value; /* expires_ns 0: empty */
};

struct su_frag_table {
	uint64_t (*now)(void);
	/* The latest expiry handed out. Each save's is later than it, so that "the older" is
	 * known within one tick of the coarse clock too, when every save reads the same time. */
	uint64_t last_expires;
	uint32_t mask; /* entries - 1 */
	struct su_frag_entry entries[];
};

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	/* Coarse: fragments need seconds, not nanoseconds, and this one costs no syscall. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct su_frag_table *su_frag_table_new_clock(uint32_t entries, uint64_t (*now)(void))
{
	struct su_frag_table *t;

	if (entries < 2 || (entries & (entries - 1)))
		return NULL;
	t = calloc(1, sizeof(*t) + (size_t)entries * sizeof(t->entries[0]));
	if (!t)
		return NULL;
	t->now = now;
	t->mask = entries - 1;
	return t;
}

struct su_frag_table *su_frag_table_new(uint32_t entries)
{
	return su_frag_table_new_clock(entries, monotonic_ns);
}

void su_frag_table_free(struct su_frag_table *t)
{
	free(t);
}

static int same_key(const struct su_frag_key *a, const struct su_frag_key *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* The first of the key's two slots (the second is its neighbour). */
static uint32_t slot_of(const struct su_frag_table *t, const struct su_frag_key *k)
{
	uint64_t h = su_hash_step(0x6672616773ull /* "frags" */,
				  (uint64_t)k->family << 40 | (uint64_t)k->protocol << 32 | k->id);

	h = su_hash_step(su_hash_step(h, su_load64(k->saddr)), su_load64(k->saddr + 8));
	h = su_hash_step(su_hash_step(h, su_load64(k->daddr)), su_load64(k->daddr + 8));
	return (uint32_t)su_hash_finish(h) & t->mask & ~1u;
}

void su_frag_table_save(struct su_frag_table *t, const struct su_frag_key *k, uint64_t generation,
			uint32_t owner)
{
	uint64_t now = t->now();
	uint32_t at = slot_of(t, k);
	struct su_frag_entry *a = &t->entries[at], *b = &t->entries[at + 1], *slot;

	/* The key's own slot if it has one, else an empty or expired one, else the older. */
	if (a->value.expires_ns && same_key(&a->key, k))
		slot = a;
	else if (b->value.expires_ns && same_key(&b->key, k))
		slot = b;
	else if (a->value.expires_ns <= now)
		slot = a;
	else if (b->value.expires_ns <= now)
		slot = b;
	else
		slot = a->value.expires_ns <= b->value.expires_ns ? a : b;
	slot->key = *k;
	/* A nanosecond apart at least: an expiry 30 s away loses nothing by it. */
	slot->value.expires_ns = now + SU_FRAG_TTL_NS > t->last_expires ? now + SU_FRAG_TTL_NS :
									t->last_expires + 1;
	t->last_expires = slot->value.expires_ns;
	slot->value.generation = generation;
	slot->value.owner = owner;
}

int su_frag_table_find(struct su_frag_table *t, const struct su_frag_key *k, uint64_t generation,
		       uint32_t *owner)
{
	uint64_t now = t->now();
	uint32_t at = slot_of(t, k);

	for (uint32_t i = at; i <= at + 1; i++) {
		const struct su_frag_entry *e = &t->entries[i];

		if (e->value.expires_ns > now && same_key(&e->key, k)) {
			if (e->value.generation != generation)
				return 0;
			*owner = e->value.owner;
			return 1;
		}
	}
	return 0;
}
