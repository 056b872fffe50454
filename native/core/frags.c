/* See frags.h. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow_hash.h"
#include "frags.h"

struct su_frag_entry {
	uint64_t expires; /* 0: empty */
	uint64_t generation;
	uint32_t owner; /* index into the owners of the view of `generation` */
	uint32_t id;
	uint8_t family;
	uint8_t protocol;
	uint8_t pad[6];
	uint8_t saddr[16];
	uint8_t daddr[16];
};

struct su_frag_table {
	uint64_t (*now)(void);
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

static void key_of(const struct su_ip *p, struct su_frag_entry *k)
{
	uint32_t size = p->family == SU_FAMILY_IPV4 ? 4 : 16;

	memset(k, 0, sizeof(*k));
	k->id = p->frag_id;
	k->family = p->family;
	k->protocol = p->protocol;
	memcpy(k->saddr, p->saddr, size);
	memcpy(k->daddr, p->daddr, size);
}

static int same_key(const struct su_frag_entry *a, const struct su_frag_entry *b)
{
	return a->id == b->id && a->family == b->family && a->protocol == b->protocol &&
	       memcmp(a->saddr, b->saddr, 16) == 0 && memcmp(a->daddr, b->daddr, 16) == 0;
}

/* The first of the key's two slots (the second is its neighbour). */
static uint32_t slot_of(const struct su_frag_table *t, const struct su_frag_entry *k)
{
	uint64_t h = su_hash_step(0x6672616773ull /* "frags" */,
				  (uint64_t)k->family << 40 | (uint64_t)k->protocol << 32 | k->id);

	h = su_hash_step(su_hash_step(h, su_load64(k->saddr)), su_load64(k->saddr + 8));
	h = su_hash_step(su_hash_step(h, su_load64(k->daddr)), su_load64(k->daddr + 8));
	return (uint32_t)su_hash_finish(h) & t->mask & ~1u;
}

void su_frag_remember(struct su_frag_table *t, const struct su_view *view,
		      const struct su_ip *first, const struct su_owner *owner)
{
	struct su_frag_entry k, *a, *b, *slot;
	uint64_t now = t->now();
	uint32_t at;

	key_of(first, &k);
	at = slot_of(t, &k);
	a = &t->entries[at];
	b = &t->entries[at + 1];
	/* The key's own slot if it has one, else an empty or expired one, else the older. */
	if (a->expires && same_key(a, &k))
		slot = a;
	else if (b->expires && same_key(b, &k))
		slot = b;
	else if (a->expires <= now)
		slot = a;
	else if (b->expires <= now)
		slot = b;
	else
		slot = a->expires <= b->expires ? a : b;
	k.expires = now + SU_FRAG_TTL_NS;
	k.generation = su_view_generation(view);
	k.owner = (uint32_t)(owner - view->owners);
	*slot = k;
}

const struct su_owner *su_frag_owner(struct su_frag_table *t, const struct su_view *view,
				     const struct su_ip *later)
{
	struct su_frag_entry k;
	uint64_t now = t->now();
	uint32_t at;

	key_of(later, &k);
	at = slot_of(t, &k);
	for (uint32_t i = at; i <= at + 1; i++) {
		const struct su_frag_entry *e = &t->entries[i];

		if (e->expires > now && same_key(e, &k))
			return e->generation == su_view_generation(view) &&
					       e->owner < view->header->owner_count ?
				       &view->owners[e->owner] :
				       NULL;
	}
	return NULL;
}
