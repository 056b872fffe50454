/* The reference model of the address-slice key kind (issue 16; section layout softunicast/table.h,
 * rules docs/structured-addressing.md): the section's rules, and a packet's owner found the slow
 * way (the services scanned bit by bit, the row's number read off the destination one bit at a
 * time, flowhash-1 restated from src/ssa/destination.ts deriveLow64). Used by oracle_table.c
 * (loading, rules) and oracle_route.c (owners); fuzz_view.c asks fz_addr_flowhash1 for
 * destinations that conform. Shares no code with native/core/addr_slice_kind.h or view_addr.c. */
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* Bit `i` (0 = the most significant) of a 16-byte address in network order. */
static unsigned bit_of(const uint8_t *addr, unsigned i)
{
	return (addr[i / 8] >> (7 - i % 8)) & 1;
}

/* Whether the first `len` bits of `a` and `b` agree. */
static int same_bits(const uint8_t *a, const uint8_t *b, unsigned len)
{
	for (unsigned i = 0; i < len; i++)
		if (bit_of(a, i) != bit_of(b, i))
			return 0;
	return 1;
}

int fz_addr_section_valid(const uint8_t *image, const struct su_section *s)
{
	struct su_addr_head head;

	if (s->size < sizeof(head))
		return 0;
	memcpy(&head, image + s->offset, sizeof(head));
	return head.service_count <= SU_ADDR_SERVICES_MAX &&
	       s->size == sizeof(head) +
				  (uint64_t)head.service_count * sizeof(struct su_addr_service) +
				  (uint64_t)head.row_count * sizeof(struct su_flow_row);
}

void fz_addr_load(struct fz_table *t, const uint8_t *image, const struct su_section *s)
{
	const uint8_t *p = image + s->offset;
	size_t services, rows;

	memcpy(&t->addr, p, sizeof(t->addr));
	services = (size_t)t->addr.service_count * sizeof(*t->addr_services);
	rows = (size_t)t->addr.row_count * sizeof(*t->addr_rows);
	t->addr_services = malloc(services ? services : 1);
	t->addr_rows = malloc(rows ? rows : 1);
	if (!t->addr_services || !t->addr_rows)
		abort();
	memcpy(t->addr_services, p + sizeof(t->addr), services);
	memcpy(t->addr_rows, p + sizeof(t->addr) + services, rows);
}

/* One service's own rules: an IPv6 /1 to /64 without host bits, at most 2^20 rows starting
 * where the services before it end (`row_first`), a known filter with 1 to 128 source bits and,
 * for a low-priority owner, one that exists. */
static int service_valid(const struct fz_table *t, const struct su_addr_service *a,
			 uint64_t row_first)
{
	for (unsigned i = a->prefix_len; i < 128; i++)
		if (bit_of(a->addr, i))
			return 0;
	if (a->prefix_len < 1 || a->prefix_len > 64 || a->bits > 20 || a->row_first != row_first)
		return 0;
	switch (a->filter) {
	case SU_ADDR_FILTER_NONE:
		return 1;
	case SU_ADDR_FILTER_DROP:
		return a->source_bits >= 1 && a->source_bits <= 128;
	case SU_ADDR_FILTER_OWNER:
		return a->source_bits >= 1 && a->source_bits <= 128 &&
		       a->filter_owner < t->h.owner_count;
	default:
		return 0;
	}
}

int fz_addr_valid(const struct fz_table *t)
{
	uint64_t rows = 0;

	for (uint32_t i = 0; i < t->addr.service_count; i++) {
		const struct su_addr_service *a = &t->addr_services[i];

		if (!service_valid(t, a, rows))
			return 0;
		/* Disjoint: neither prefix holds the other's network. */
		for (uint32_t j = 0; j < i; j++) {
			const struct su_addr_service *b = &t->addr_services[j];

			if (same_bits(a->addr, b->addr,
				      a->prefix_len < b->prefix_len ? a->prefix_len : b->prefix_len))
				return 0;
		}
		rows += (uint64_t)1 << a->bits;
	}
	if (rows != t->addr.row_count)
		return 0;
	for (uint32_t r = 0; r < t->addr.row_count; r++)
		if (t->addr_rows[r].primary >= t->h.owner_count ||
		    t->addr_rows[r].secondary >= t->h.owner_count)
			return 0;
	return 1;
}

/* The service whose prefix holds the IPv6 address `addr`, or NULL. */
static const struct su_addr_service *service_of(const struct fz_table *t, uint8_t family,
						const uint8_t *addr)
{
	for (uint32_t i = 0; t->addr_services && family == SU_FAMILY_IPV6 &&
			     i < t->addr.service_count; i++)
		if (same_bits(t->addr_services[i].addr, addr, t->addr_services[i].prefix_len))
			return &t->addr_services[i];
	return NULL;
}

int fz_addr_service_holds(const struct fz_table *t, uint8_t family, const uint8_t *addr)
{
	return service_of(t, family, addr) != NULL;
}

/* SplitMix64-style steps of flowhash-1, as src/lb/flow-hash.ts (step, finish) writes them on
 * numbers. Restated, not included from native/core/flow_hash.h: the model shares no code with
 * the core (oracle_flow.c restates the flow hash the same way). */
static uint64_t step(uint64_t h, uint64_t word)
{
	h = (h ^ word) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 32);
}

static uint64_t finish(uint64_t h)
{
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

/* Eight bytes as a big-endian number, byte by byte. */
static uint64_t be64(const uint8_t *p)
{
	uint64_t w = 0;

	for (unsigned i = 0; i < 8; i++)
		w = w << 8 | p[i];
	return w;
}

uint64_t fz_addr_flowhash1(const struct su_addr_service *a, const uint8_t *saddr)
{
	uint8_t s[16];

	/* The source with every bit after the first source_bits cleared. */
	memset(s, 0, sizeof(s));
	for (unsigned i = 0; i < a->source_bits && i < 128; i++)
		s[i / 8] |= (uint8_t)(bit_of(saddr, i) << (7 - i % 8));
	return finish(step(step(step(be64(a->key), be64(s)), be64(s + 8)), be64(a->key + 8)));
}

long fz_addr_owner(const struct fz_table *t, const struct fz_ip *p, int *managed, int *filtered,
		   long *secondary)
{
	const struct su_addr_service *a = service_of(t, p->family, p->daddr);
	const struct su_flow_row *r;
	uint32_t row = 0;

	if (!a)
		return -1;
	*managed = 1;
	if (a->filter != SU_ADDR_FILTER_NONE && fz_addr_flowhash1(a, p->saddr) != be64(p->daddr + 8)) {
		if (a->filter == SU_ADDR_FILTER_OWNER)
			return a->filter_owner; /* no row: no secondary, no hop */
		*filtered = 1;
		return -1;
	}
	/* The `bits` bits after the prefix, one at a time: the row of the finest slice. */
	for (unsigned i = 0; i < a->bits; i++)
		row = row << 1 | bit_of(p->daddr, a->prefix_len + i);
	r = &t->addr_rows[a->row_first + row];
	*secondary = r->secondary;
	return r->primary;
}
