/* The reference model's table (oracle.h): the image's rules checked one by one, and every
 * question the router asks of a table (owner, managed address or port, trusted source, server of
 * this data centre) answered by scanning the image. Never reads the view's index or forwarding
 * records, so that an optimisation of those that changes an answer disagrees with it. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* ---- The image, loaded -------------------------------------------------------------------- */

static void *section(const uint8_t **p, size_t n)
{
	void *copy = malloc(n ? n : 1);

	if (!copy)
		abort();
	memcpy(copy, *p, n);
	*p += n;
	return copy;
}

/* The size of the parts every image has, by its counts, in 64 bits: no count can overflow it. */
static uint64_t fixed_size(const struct su_table_header *h)
{
	return sizeof(*h) + (uint64_t)h->trusted_count * sizeof(struct su_prefix) +
	       (uint64_t)h->peer_count * sizeof(struct su_peer) +
	       (uint64_t)h->owner_count * sizeof(struct su_owner);
}

static int section_list_valid(const struct su_table_header *h, const uint8_t *image, size_t size);

/* Where the port-slice section starts: the oracle reads an accepted image its own way, by the
 * section list (table.h), rather than through the view's code. */
static const uint8_t *port_slice_at(const struct su_table_header *h, const uint8_t *image,
				    const uint8_t *after_owners)
{
	for (uint32_t i = 0; i < h->section_count && i < SU_SECTIONS_MAX; i++)
		if (h->sections[i].kind == SU_KEY_KIND_PORT_SLICE)
			return image + h->sections[i].offset;
	if (h->key_count || h->range_count)
		fz_fail("an accepted image has %u keys but no port-slice section", h->key_count);
	return after_owners;
}

void fz_table_load(struct fz_table *t, const void *image, size_t size)
{
	const uint8_t *p = image;

	if (size < sizeof(t->h))
		fz_fail("an accepted image of %zu bytes has no header", size);
	memset(t, 0, sizeof(*t));
	memcpy(&t->h, p, sizeof(t->h));
	p += sizeof(t->h);
	if (!section_list_valid(&t->h, image, size))
		fz_fail("an accepted image of %zu bytes disagrees with its sections", size);
	t->trusted = section(&p, t->h.trusted_count * sizeof(*t->trusted));
	t->peers = section(&p, t->h.peer_count * sizeof(*t->peers));
	t->owners = section(&p, t->h.owner_count * sizeof(*t->owners));
	p = port_slice_at(&t->h, image, p);
	t->keys = section(&p, t->h.key_count * sizeof(*t->keys));
	t->ranges = section(&p, t->h.range_count * sizeof(*t->ranges));
	for (uint32_t i = 0; i < t->h.section_count; i++) {
		t->kinds[t->kind_count++] = t->h.sections[i].kind;
		if (t->h.sections[i].kind == SU_KEY_KIND_FLOW_HASH)
			fz_flow_load(t, image, &t->h.sections[i]);
		if (t->h.sections[i].kind == SU_KEY_KIND_ADDRESS_SLICE)
			fz_addr_load(t, image, &t->h.sections[i]);
	}
}

void fz_table_free(struct fz_table *t)
{
	free(t->trusted);
	free(t->peers);
	free(t->owners);
	free(t->keys);
	free(t->ranges);
	free(t->services);
	free(t->rows);
	free(t->addr_services);
	free(t->addr_rows);
}

/* ---- Questions, answered by scanning ------------------------------------------------------ */

/* Bit by bit: nothing shared with the lookup's word masks. */
static int prefix_holds(const uint8_t *prefix, unsigned len, const uint8_t *addr)
{
	for (unsigned bit = 0; bit < len; bit++)
		if ((prefix[bit / 8] ^ addr[bit / 8]) & (0x80 >> (bit % 8)))
			return 0;
	return 1;
}

long fz_lookup_naive(const struct fz_table *t, uint8_t family, const uint8_t *addr,
		     uint8_t protocol, uint16_t port)
{
	long best = -1;
	int best_len = -1;

	for (uint32_t i = 0; i < t->h.key_count; i++) {
		const struct su_slice_key *k = &t->keys[i];

		if (k->family != family || k->protocol != protocol || k->prefix_len <= best_len ||
		    !prefix_holds(k->addr, k->prefix_len, addr))
			continue;
		for (uint32_t r = k->range_first; r < k->range_first + k->range_count; r++) {
			if (t->ranges[r].first <= port && port <= t->ranges[r].last) {
				best = t->ranges[r].owner;
				best_len = k->prefix_len;
				break;
			}
		}
	}
	return best;
}

int fz_port_managed(const struct fz_table *t, uint8_t family, const uint8_t *addr,
		    uint8_t protocol, uint16_t port)
{
	for (uint32_t i = 0; i < t->h.key_count; i++) {
		const struct su_slice_key *k = &t->keys[i];

		if (k->family == family && k->protocol == protocol &&
		    prefix_holds(k->addr, k->prefix_len, addr) &&
		    t->ranges[k->range_first].first <= port &&
		    port <= t->ranges[k->range_first + k->range_count - 1].last)
			return 1;
	}
	return 0;
}

int fz_addr_managed(const struct fz_table *t, uint8_t family, const uint8_t *addr)
{
	for (uint32_t i = 0; i < t->h.key_count; i++)
		if (t->keys[i].family == family &&
		    prefix_holds(t->keys[i].addr, t->keys[i].prefix_len, addr))
			return 1;
	return fz_flow_addr(t, family, addr) || fz_addr_service_holds(t, family, addr);
}

int fz_trusted(const struct fz_table *t, uint8_t family, const uint8_t *addr)
{
	for (uint32_t i = 0; i < t->h.trusted_count; i++)
		if (t->trusted[i].family == family &&
		    prefix_holds(t->trusted[i].addr, t->trusted[i].prefix_len, addr))
			return 1;
	return 0;
}

int fz_peer(const struct fz_table *t, uint8_t family, const uint8_t *addr)
{
	for (uint32_t i = 0; i < t->h.peer_count; i++)
		if (t->peers[i].family == family &&
		    memcmp(t->peers[i].addr, addr, family == SU_FAMILY_IPV4 ? 4 : 16) == 0)
			return 1;
	return 0;
}

int fz_mac_peer(const struct fz_table *t, const uint8_t *mac)
{
	for (uint32_t i = 0; i < t->h.peer_count; i++)
		if ((t->peers[i].flags & SU_PEER_HAS_MAC) && memcmp(t->peers[i].mac, mac, 6) == 0)
			return 1;
	return 0;
}

static const char *addr_text(char *buf, uint8_t family, const uint8_t *addr)
{
	if (family != SU_FAMILY_IPV4 && family != SU_FAMILY_IPV6)
		return "(no address)";
	return inet_ntop(family == SU_FAMILY_IPV4 ? AF_INET : AF_INET6, addr, buf,
			 INET6_ADDRSTRLEN);
}

long fz_lookup(const struct su_view *view, const struct fz_table *t, uint8_t family,
	       const uint8_t *addr, uint8_t protocol, uint16_t port)
{
	const struct su_owner *got = su_view_lookup(view, family, addr, protocol, port);
	long want = fz_lookup_naive(t, family, addr, protocol, port);
	char text[INET6_ADDRSTRLEN];

	/* The view hands out its own copy of the owner: the same bytes as the image's. */
	if (want < 0 ? got != NULL : !got || memcmp(got, &t->owners[want], sizeof(*got)) != 0)
		fz_fail("lookup of protocol %u %s port %u: the view found %s, a scan of the image "
			"owner %ld",
			protocol, addr_text(text, family, addr), port, got ? "an owner" : "none",
			want);
	return want;
}

/* ---- The image's rules -------------------------------------------------------------------- */

static int bad(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return FZ_IMAGE_INVALID;
}

/* A prefix's family, length and host bits; an IPv4 address's bytes 4-15 count as host bits. */
static int prefix_valid(uint8_t family, uint8_t prefix_len, const uint8_t *addr)
{
	unsigned bits = family == SU_FAMILY_IPV4 ? 32 : family == SU_FAMILY_IPV6 ? 128 : 0;

	if (!bits || prefix_len > bits)
		return 0;
	for (unsigned bit = prefix_len; bit < 128; bit++)
		if (addr[bit / 8] & (0x80 >> (bit % 8)))
			return 0;
	return 1;
}

static int owner_valid(const struct su_owner *o)
{
	if (o->kind < SU_OWNER_LOCAL || o->kind > SU_OWNER_DATACENTER ||
	    (o->flags & ~SU_OWNER_NEXT_HOP_KNOWN))
		return 0;
	if (o->kind == SU_OWNER_LOCAL)
		return 1; /* its encapsulation is never used */
	if (o->encap == SU_ENCAP_L2)
		return o->kind == SU_OWNER_SERVER && (o->flags & SU_OWNER_NEXT_HOP_KNOWN);
	/* GLB: a server's IPv4 address, never 0.0.0.0 (0 reads as "no hop"). */
	if (o->encap == SU_ENCAP_GLB)
		return o->kind == SU_OWNER_SERVER && o->family == SU_FAMILY_IPV4 &&
		       o->gue_port != 0 && (o->endpoint[0] | o->endpoint[1] | o->endpoint[2] |
					    o->endpoint[3]);
	return (o->encap == SU_ENCAP_GUE0 || o->encap == SU_ENCAP_GUE1) &&
	       (o->family == SU_FAMILY_IPV4 || o->family == SU_FAMILY_IPV6) && o->gue_port != 0;
}

/* Peers: whole addresses, known flags, sorted by (family, 16 address bytes), each once. */
static int peers_valid(const struct fz_table *t, char *why, size_t why_size)
{
	for (uint32_t i = 0; i < t->h.peer_count; i++) {
		const struct su_peer *p = &t->peers[i], *q = &t->peers[i - (i > 0)];

		if (!prefix_valid(p->family, p->family == SU_FAMILY_IPV4 ? 32 : 128, p->addr) ||
		    (p->flags & ~SU_PEER_HAS_MAC))
			return bad(why, why_size, "peer %u: address or flags", i);
		if (i > 0 && (q->family > p->family ||
			      (q->family == p->family && memcmp(q->addr, p->addr, 16) >= 0)))
			return bad(why, why_size, "peer %u out of order", i);
	}
	return FZ_IMAGE_VALID;
}

static int keys_valid(const struct fz_table *t, char *why, size_t why_size)
{
	for (uint32_t i = 0; i < t->h.key_count; i++) {
		const struct su_slice_key *k = &t->keys[i];

		if (!prefix_valid(k->family, k->prefix_len, k->addr) ||
		    (k->protocol != IPPROTO_TCP && k->protocol != IPPROTO_UDP))
			return bad(why, why_size, "key %u: prefix or protocol", i);
		if (k->range_count == 0 ||
		    (uint64_t)k->range_first + k->range_count > t->h.range_count)
			return bad(why, why_size, "key %u: no ranges, or outside the section", i);
		for (uint32_t r = k->range_first; r < k->range_first + k->range_count; r++) {
			const struct su_port_range *x = &t->ranges[r];

			if (x->first > x->last || x->owner >= t->h.owner_count ||
			    (r > k->range_first && x->first <= t->ranges[r - 1].last))
				return bad(why, why_size, "key %u: range %u", i, r - k->range_first);
		}
		for (uint32_t j = 0; j < i; j++)
			if (t->keys[j].family == k->family && t->keys[j].prefix_len == k->prefix_len &&
			    t->keys[j].protocol == k->protocol &&
			    memcmp(t->keys[j].addr, k->addr, 16) == 0)
				return bad(why, why_size, "key %u repeats key %u", i, j);
	}
	return FZ_IMAGE_VALID;
}

/* Everything but the keys, then the limit on L2 servers (a frame's source MAC is checked
 * against each), then the keys: the order su_view_build's answers come in. */
static int sections_valid(const struct fz_table *t, char *why, size_t why_size)
{
	uint32_t macs = 0;
	int ok;

	if (t->h.host.flags & ~(SU_HOST_HAS_IPV4 | SU_HOST_HAS_IPV6))
		return bad(why, why_size, "unknown host flags");
	for (uint32_t i = 0; i < t->h.trusted_count; i++)
		if (!prefix_valid(t->trusted[i].family, t->trusted[i].prefix_len, t->trusted[i].addr))
			return bad(why, why_size, "trusted prefix %u", i);
	if ((ok = peers_valid(t, why, why_size)) != FZ_IMAGE_VALID)
		return ok;
	for (uint32_t i = 0; i < t->h.owner_count; i++)
		if (!owner_valid(&t->owners[i]))
			return bad(why, why_size, "owner %u", i);
	for (uint32_t i = 0; i < t->h.peer_count; i++)
		macs += (t->peers[i].flags & SU_PEER_HAS_MAC) != 0;
	if (macs > SU_MAC_PEERS_MAX) {
		snprintf(why, why_size, "%u servers reached by L2", macs);
		return FZ_IMAGE_LIMIT;
	}
	if ((ok = keys_valid(t, why, why_size)) != FZ_IMAGE_VALID)
		return ok;
	if (t->services && !fz_flow_valid(t))
		return bad(why, why_size, "flow-hash services or rows");
	if (t->addr_services && !fz_addr_valid(t))
		return bad(why, why_size, "address-slice services or rows");
	return FZ_IMAGE_VALID;
}

/* The section list (table.h): at most one section of each of this build's three kinds, unused
 * entries zero, each 4-byte aligned after the fixed parts, inside the image, apart from the
 * others, of its kind's size; keys and ranges only with a port-slice section; together with the
 * fixed parts exactly the image. Written from the rules, not from view_check.c. */
static int section_list_valid(const struct su_table_header *h, const uint8_t *image, size_t size)
{
	static const struct su_section zero;
	uint64_t fixed = fixed_size(h), total = fixed;
	int seen[4] = { 0 };

	if (fixed > size || h->section_count > 3)
		return 0;
	for (uint32_t i = h->section_count; i < SU_SECTIONS_MAX; i++)
		if (memcmp(&h->sections[i], &zero, sizeof(zero)) != 0)
			return 0;
	for (uint32_t i = 0; i < h->section_count; i++) {
		const struct su_section *s = &h->sections[i];
		uint64_t end = (uint64_t)s->offset + s->size;

		if (s->kind < SU_KEY_KIND_PORT_SLICE || s->kind > SU_KEY_KIND_ADDRESS_SLICE ||
		    seen[s->kind] || s->offset < fixed || s->offset % 4 || end > size)
			return 0;
		seen[s->kind] = 1;
		for (uint32_t j = 0; j < i; j++)
			if (s->offset < (uint64_t)h->sections[j].offset + h->sections[j].size &&
			    h->sections[j].offset < end)
				return 0;
		if (s->kind == SU_KEY_KIND_PORT_SLICE &&
		    s->size != (uint64_t)h->key_count * sizeof(struct su_slice_key) +
				       (uint64_t)h->range_count * sizeof(struct su_port_range))
			return 0;
		if (s->kind == SU_KEY_KIND_FLOW_HASH && !fz_flow_section_valid(image, s))
			return 0;
		if (s->kind == SU_KEY_KIND_ADDRESS_SLICE && !fz_addr_section_valid(image, s))
			return 0;
		total += s->size;
	}
	if (!seen[SU_KEY_KIND_PORT_SLICE] && (h->key_count || h->range_count))
		return 0;
	return total == size;
}

int fz_image_check(const void *image, size_t size, char *why, size_t why_size)
{
	struct fz_table t;
	int ret;

	if (size < sizeof(t.h))
		return bad(why, why_size, "shorter than the header");
	memcpy(&t.h, image, sizeof(t.h));
	if (t.h.magic != SU_TABLE_MAGIC || t.h.abi_version != SU_ABI_VERSION)
		return bad(why, why_size, "magic or ABI version");
	if (t.h.trusted_count > SU_TRUSTED_PEERS_MAX || t.h.peer_count > SU_PEERS_MAX)
		return bad(why, why_size, "too many trusted prefixes or peers");
	if (!section_list_valid(&t.h, image, size))
		return bad(why, why_size, "key-kind sections");
	fz_table_load(&t, image, size);
	ret = sections_valid(&t, why, why_size);
	fz_table_free(&t);
	return ret;
}
