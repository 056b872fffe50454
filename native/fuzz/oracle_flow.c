/* The reference model of the flow-hash key kind (issue 15; section layout softunicast/table.h):
 * the section's rules, and a service's owner for a packet by scanning the services and hashing
 * the flow with the model's own statement of the flow hash (the GUE source port's hash,
 * draft-ietf-intarea-gue-09 5.11.2; native/core/flow_hash.h restated byte by byte here). Used by
 * oracle_table.c (loading, rules) and oracle_route.c (owners). */
#include <stdlib.h>
#include <string.h>

#include "model.h"

static int is_prime(uint32_t n)
{
	if (n < 2)
		return 0;
	for (uint64_t d = 2; d * d <= n; d++)
		if (n % d == 0)
			return 0;
	return 1;
}

int fz_flow_section_valid(const uint8_t *image, const struct su_section *s)
{
	struct su_flow_head head;

	if (s->size < sizeof(head))
		return 0;
	memcpy(&head, image + s->offset, sizeof(head));
	if (!head.rows || head.rows > SU_FLOW_ROWS_MAX || !is_prime(head.rows) ||
	    (uint64_t)head.service_count * head.rows > SU_FLOW_SECTION_ROWS_MAX)
		return 0;
	return s->size == sizeof(head) + (uint64_t)head.service_count *
						 (sizeof(struct su_flow_service) +
						  head.rows * sizeof(struct su_flow_row));
}

void fz_flow_load(struct fz_table *t, const uint8_t *image, const struct su_section *s)
{
	const uint8_t *p = image + s->offset;
	size_t services, rows;

	memcpy(&t->flow, p, sizeof(t->flow));
	services = (size_t)t->flow.service_count * sizeof(*t->services);
	rows = (size_t)t->flow.service_count * t->flow.rows * sizeof(*t->rows);
	t->services = malloc(services ? services : 1);
	t->rows = malloc(rows ? rows : 1);
	if (!t->services || !t->rows)
		abort();
	memcpy(t->services, p + sizeof(t->flow), services);
	memcpy(t->rows, p + sizeof(t->flow) + services, rows);
}

/* Services in the image's order: family, protocol, port, then address bytes. */
static int service_before(const struct su_flow_service *a, const struct su_flow_service *b)
{
	if (a->family != b->family)
		return a->family < b->family;
	if (a->protocol != b->protocol)
		return a->protocol < b->protocol;
	if (a->port != b->port)
		return a->port < b->port;
	return memcmp(a->addr, b->addr, 16) < 0;
}

int fz_flow_valid(const struct fz_table *t)
{
	uint64_t all = (uint64_t)t->flow.service_count * t->flow.rows;

	for (uint32_t i = 0; i < t->flow.service_count; i++) {
		const struct su_flow_service *s = &t->services[i];
		unsigned zero_from = s->family == SU_FAMILY_IPV4 ? 4 : 16;

		if (s->family != SU_FAMILY_IPV4 && s->family != SU_FAMILY_IPV6)
			return 0;
		for (unsigned b = zero_from; b < 16; b++)
			if (s->addr[b])
				return 0;
		if ((s->protocol != IPPROTO_TCP && s->protocol != IPPROTO_UDP) ||
		    s->row_first % t->flow.rows || (uint64_t)s->row_first + t->flow.rows > all ||
		    (i > 0 && !service_before(&t->services[i - 1], s)))
			return 0;
	}
	for (uint64_t r = 0; r < all; r++)
		if (t->rows[r].primary >= t->h.owner_count ||
		    t->rows[r].secondary >= t->h.owner_count)
			return 0;
	return 1;
}

/* Little-endian words of address bytes: how every target the project builds for loads them. */
static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t w = 0;

	for (unsigned i = n; i-- > 0;)
		w = w << 8 | p[i];
	return w;
}

static uint64_t mix(uint64_t h, uint64_t word)
{
	h = (h ^ word) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 32);
}

/* The flow hash of `p` under `seed`: the seed and (family, protocol), the addresses, the ports,
 * then SplitMix64's finalizer, cut to 32 bits. */
static uint32_t flow_hash(uint32_t seed, const struct fz_ip *p)
{
	uint64_t h = mix(seed, (uint64_t)p->family << 8 | p->protocol);

	if (p->family == SU_FAMILY_IPV4) {
		h = mix(h, le(p->saddr, 4) << 32 | le(p->daddr, 4));
	} else {
		h = mix(h, le(p->saddr, 8));
		h = mix(h, le(p->saddr + 8, 8));
		h = mix(h, le(p->daddr, 8));
		h = mix(h, le(p->daddr + 8, 8));
	}
	h = mix(h, (uint64_t)p->sport << 16 | p->dport);
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	return (uint32_t)(h ^ (h >> 31));
}

long fz_flow_owner(const struct fz_table *t, const struct fz_ip *p, int *managed, long *secondary)
{
	const struct su_flow_row *r;

	for (uint32_t i = 0; t->services && i < t->flow.service_count; i++) {
		const struct su_flow_service *s = &t->services[i];

		if (s->family != p->family || s->protocol != p->protocol || s->port != p->dport ||
		    memcmp(s->addr, p->daddr, 16) != 0)
			continue;
		*managed = 1;
		r = &t->rows[s->row_first + flow_hash(t->h.host.flow_hash_seed, p) % t->flow.rows];
		*secondary = r->secondary;
		return r->primary;
	}
	return -1;
}

int fz_flow_addr(const struct fz_table *t, uint8_t family, const uint8_t *addr)
{
	for (uint32_t i = 0; t->services && i < t->flow.service_count; i++)
		if (t->services[i].family == family && memcmp(t->services[i].addr, addr, 16) == 0)
			return 1;
	return 0;
}
