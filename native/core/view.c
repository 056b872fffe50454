/* su_view: a table image from TypeScript (src/slices/compile.ts), checked whole (view_check.c),
 * copied, its slice keys indexed for lookup, and the forms the packet path reads worked out
 * (native/core/tables.h): lengths present, forwarding records, peers. The workers read the view
 * itself (user.h); the addon copies the same forms into the XDP program's maps. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "encap.h"
#include "flow_hash.h"
#include "user.h"

#include "lookup.h"
#include "view_check.h"
#include "view_prefix.h"

/* A key's first word as the lookup compares it (tables.h): family, prefix length, protocol, 0. */
static uint32_t key_meta(uint8_t family, uint8_t prefix_len, uint8_t protocol)
{
	const uint8_t bytes[4] = { family, prefix_len, protocol, 0 };

	return su_load32(bytes);
}

/* The index hash of key `k` (view_index.h), as a lookup for its address computes it. */
static uint64_t key_hash(const struct su_view_key *k, uint8_t family)
{
	if (family == SU_FAMILY_IPV4)
		return su_view_hash4(su_load32(k->addr), k->meta);
	return su_view_hash6(su_load64(k->addr), su_load64(k->addr + 8), k->meta);
}

/* The mask of the first `bits` (0..64) bits of a word in memory order, as a machine-order word. */
static uint64_t word_mask(int bits)
{
	if (bits <= 0)
		return 0;
	if (bits >= 64)
		return ~0ULL;
	return htobe64(~0ULL << (64 - bits));
}

/* What a lookup at prefix length `len` of `family` needs (tables.h). */
static void add_len(struct su_len *l, uint8_t family, uint8_t len)
{
	l->mask[0] = word_mask(len);
	l->mask[1] = word_mask(len - 64);
	if (family == SU_FAMILY_IPV4) {
		/* An IPv4 address is loaded as one 32-bit word: its mask is the first 4 bytes'. */
		uint8_t bytes[8];

		memcpy(bytes, &l->mask[0], sizeof(bytes));
		l->mask[0] = su_load32(bytes);
		l->mask[1] = 0;
	}
	l->meta = key_meta(family, len, 0);
}

static int same_key(const struct su_view_key *a, const struct su_view_key *b)
{
	return a->meta == b->meta && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* Key `k`'s lookup form, from the checked image key `src`. */
static void fill_key(const struct su_view *v, const struct su_slice_key *src,
		     struct su_view_key *k)
{
	const struct su_port_range *r = &v->ranges[src->range_first];
	uint32_t width = (uint32_t)(r[0].last - r[0].first) + 1;

	k->meta = key_meta(src->family, src->prefix_len, src->protocol);
	k->r.first = src->range_first;
	k->r.count = src->range_count;
	k->r.base = r[0].first;
	k->r.shift = (uint8_t)__builtin_ctz(width);
	k->r.even = 1;
	for (uint32_t i = 0; i < src->range_count && k->r.even; i++)
		k->r.even = r[i].first == k->r.base + (i << k->r.shift) &&
			    r[i].last == k->r.base + ((i + 1) << k->r.shift) - 1;
	memcpy(k->addr, src->addr, sizeof(k->addr));
}

/* Inserts key `i` into the index; refuses a key given twice. */
static int insert_key(struct su_view *v, uint32_t i, uint8_t family,
		      const struct su_slice_key *src, struct su_error *err)
{
	uint64_t h = key_hash(&v->keys[i], family), slot;
	uint32_t tag = (uint32_t)(h >> 32), probe;
	char key_text[96];

	/* Load stays at most one half: every probe sequence ends at an empty slot. */
	for (slot = h >> v->slot_shift, probe = 1;; slot = (slot + 1) & v->slot_mask, probe++) {
		struct su_view_slot *s = &v->slots[slot];

		if (!s->key) {
			s->tag = tag;
			s->key = i + 1;
			break;
		}
		if (s->tag == tag && same_key(&v->keys[s->key - 1], &v->keys[i]))
			return su_bad(err, "key %u (%s) repeats key %u", i,
				      su_describe_key(key_text, sizeof(key_text), src), s->key - 1);
	}
	if (probe > v->max_probe)
		v->max_probe = probe;
	return 0;
}

/* Checks every key of the image's key section `src` (the caller's buffer, which may change
 * under us: each key is read once, into a local copy, and only the copy is used) and inserts
 * it into the index. */
static int index_keys(struct su_view *v, const uint8_t *src, struct su_error *err)
{
	uint32_t count = v->header->key_count;
	uint8_t seen4[SU_LENS_IPV4] = { 0 }, seen6[SU_LENS_IPV6] = { 0 };
	uint64_t capacity = 16;
	uint32_t shift = 60;
	char key_text[96];
	int ret;

	while (capacity < 2 * (uint64_t)count) {
		capacity *= 2;
		shift--;
	}
	v->slots = calloc(capacity, sizeof(*v->slots));
	/* Whole cache lines, two keys each. */
	v->keys = aligned_alloc(64, ((size_t)count * sizeof(*v->keys) + 63) / 64 * 64 + 64);
	if (!v->slots || !v->keys)
		return su_error_set(err, "ERR_INVALID_TABLE", ENOMEM, NULL,
				    "Could not allocate the index of %u slice keys", count);
	v->slot_mask = capacity - 1;
	v->slot_shift = shift;
	for (uint32_t i = 0; i < count; i++) {
		struct su_slice_key k;

		memcpy(&k, src + (size_t)i * sizeof(k), sizeof(k));
		ret = su_check_prefix("key", i, k.family, k.prefix_len, k.addr, err);
		if (ret)
			return ret;
		if (k.protocol != SU_IPPROTO_TCP && k.protocol != SU_IPPROTO_UDP)
			return su_bad(err, "key %u (%s) has protocol %u, expected 6 (TCP) or 17 (UDP)",
				      i, su_describe_key(key_text, sizeof(key_text), &k), k.protocol);
		ret = su_check_ranges(v->header, v->ranges, i, &k, err);
		if (ret)
			return ret;
		fill_key(v, &k, &v->keys[i]);
		ret = insert_key(v, i, k.family, &k, err);
		if (ret)
			return ret;
		if (k.family == SU_FAMILY_IPV4)
			seen4[k.prefix_len] = 1;
		else
			seen6[k.prefix_len] = 1;
	}
	for (int len = 32; len >= 0; len--)
		if (seen4[len])
			add_len(&v->meta.ipv4_lens[v->meta.ipv4_len_count++], SU_FAMILY_IPV4,
				(uint8_t)len);
	for (int len = 128; len >= 0; len--)
		if (seen6[len])
			add_len(&v->meta.ipv6_lens[v->meta.ipv6_len_count++], SU_FAMILY_IPV6,
				(uint8_t)len);
	return 0;
}

_Static_assert(offsetof(struct su_fwd, hdr) % 8 == 0 && SU_FWD_HDR_MAX % 8 == 0 &&
		       sizeof(struct su_fwd) % 8 == 0,
	       "a forwarding record is rewritten in whole 8-byte words (su_view_set_next_hop)");

int su_view_set_next_hop(struct su_view *view, uint32_t owner, const uint8_t mac[6],
			 struct su_fwd *out)
{
	const uint64_t *src = (const uint64_t *)(const void *)out;
	struct su_owner *o;
	uint64_t *dst;

	if (owner >= view->header->owner_count)
		return -1;
	dst = (uint64_t *)(void *)&view->fwd[owner];
	/* The image's copy of the owner, so that it and the record agree from now on. */
	o = (struct su_owner *)&view->owners[owner];
	if (o->kind == SU_OWNER_LOCAL || o->encap == SU_ENCAP_L2)
		return -1; /* no next hop: the kernel's, or the owner's own MAC from the table */
	memcpy(o->next_hop_mac, mac, 6);
	o->flags |= SU_OWNER_NEXT_HOP_KNOWN;
	su_fwd_prepare(&view->header->host, o, out);
	/* Word by word, each whole for a worker reading the record meanwhile: a packet sees the
	 * old or the new MAC address, never a mix (the layout puts it in one word). */
	for (size_t i = 0; i < sizeof(*out) / 8; i++)
		__atomic_store_n(&dst[i], src[i], __ATOMIC_RELAXED);
	return 0;
}

/* Each owner's forwarding record, and what else the packet path reads per table. */
static int prepare(struct su_view *v, struct su_error *err)
{
	const struct su_host *host = &v->header->host;
	uint32_t count = v->header->owner_count;

	v->fwd = calloc(count ? count : 1, sizeof(*v->fwd));
	if (!v->fwd)
		return su_error_set(err, "ERR_INVALID_TABLE", ENOMEM, NULL,
				    "Could not allocate forwarding for %u owners", count);
	for (uint32_t i = 0; i < count; i++)
		su_fwd_prepare(host, &v->owners[i], &v->fwd[i]);
	v->meta.generation = v->header->generation;
	v->meta.owner_count = count;
	v->meta.peer_count = v->header->peer_count;
	for (uint32_t i = 0; i < v->header->peer_count; i++) {
		if (!(v->peers[i].flags & SU_PEER_HAS_MAC))
			continue;
		if (v->meta.mac_peer_count == SU_MAC_PEERS_MAX)
			return su_error_set(err, "ERR_TABLE_LIMIT", 0, NULL,
					    "The table has more than %d servers reached by L2, the "
					    "most the packet path checks a frame's source against",
					    SU_MAC_PEERS_MAX);
		memcpy(v->meta.macs[v->meta.mac_peer_count++], v->peers[i].mac, 6);
	}
	v->meta.host = *host;
	for (int ipv6 = 0; ipv6 < 2; ipv6++)
		for (int udp = 0; udp < 2; udp++)
			v->meta.flow_start[ipv6][udp] = su_flow_hash_start(
				host->flow_hash_seed, ipv6 ? SU_FAMILY_IPV6 : SU_FAMILY_IPV4,
				udp ? SU_IPPROTO_UDP : SU_IPPROTO_TCP);
	return 0;
}

/* The checks of everything but the keys, which index_keys checks as it reads them. */
static int check_parts(const struct su_view *v, struct su_error *err)
{
	int ret = su_check_host(&v->header->host, err);

	for (uint32_t i = 0; !ret && i < v->header->trusted_count; i++) {
		const struct su_prefix *p = &v->trusted[i];

		ret = su_check_prefix("trusted prefix", i, p->family, p->prefix_len, p->addr, err);
	}
	if (!ret)
		ret = su_check_peers(v->peers, v->header->peer_count, err);
	for (uint32_t i = 0; !ret && i < v->header->owner_count; i++)
		ret = su_check_owner(i, &v->owners[i], err);
	return ret;
}

/* The key kinds the packet path asks, in the image's order (struct su_meta). */
static void list_kinds(struct su_view *v)
{
	for (uint32_t i = 0; i < v->header->section_count; i++)
		v->meta.kinds[v->meta.kind_count++] = (uint8_t)v->header->sections[i].kind;
}

int su_view_build(const void *image, size_t size, struct su_view **out, struct su_error *err)
{
	const struct su_section *ps, *fs, *as;
	struct su_table_header h;
	size_t head, keys, ranges, keys_at;
	struct su_view *v;
	uint8_t *copy;
	int ret;

	ret = su_check_header(image, size, &h, err);
	if (ret)
		return ret;
	/* Sizes from the checked header: the fixed parts, then the sections where it says. */
	head = sizeof(h) + (size_t)h.trusted_count * sizeof(struct su_prefix) +
	       (size_t)h.peer_count * sizeof(struct su_peer) +
	       (size_t)h.owner_count * sizeof(struct su_owner);
	ps = su_find_section(&h, SU_KEY_KIND_PORT_SLICE);
	keys = (size_t)h.key_count * sizeof(struct su_slice_key);
	ranges = (size_t)h.range_count * sizeof(struct su_port_range);
	keys_at = ps ? ps->offset : head;
	v = calloc(1, sizeof(*v));
	copy = malloc(head + ranges + 1);
	if (!v || !copy) {
		free(v);
		free(copy);
		return su_error_set(err, "ERR_INVALID_TABLE", ENOMEM, NULL,
				    "Could not allocate %zu bytes for the table image", size);
	}
	/* Checked and used from our own copy: the caller's buffer may change under us. The keys
	 * are read once each by index_keys, into the view's own form. */
	memcpy(copy, image, head);
	memcpy(copy + head, (const uint8_t *)image + keys_at + keys, ranges);
	v->image = copy;
	v->header_copy = h;
	v->header = &v->header_copy;
	v->trusted = (const struct su_prefix *)(copy + sizeof(h));
	v->peers = (const struct su_peer *)(v->trusted + h.trusted_count);
	v->owners = (const struct su_owner *)(v->peers + h.peer_count);
	v->ranges = (const struct su_port_range *)(copy + head);
	list_kinds(v);
	fs = su_find_section(&h, SU_KEY_KIND_FLOW_HASH);
	as = su_find_section(&h, SU_KEY_KIND_ADDRESS_SLICE);
	if ((ret = check_parts(v, err)) || (ret = prepare(v, err)) ||
	    (ret = index_keys(v, (const uint8_t *)image + keys_at, err)) ||
	    (fs && (ret = su_view_index_flow(v, image, fs, err))) ||
	    (as && (ret = su_view_index_addr(v, image, as, err)))) {
		su_view_free(v);
		return ret;
	}
	*out = v;
	return 0;
}

void su_view_free(struct su_view *view)
{
	if (!view)
		return;
	free(view->slots);
	free(view->keys);
	free(view->fwd);
	free(view->flow);
	free(view->flow_rows);
	free(view->image);
	free(view);
}

uint32_t su_view_owner_count(const struct su_view *view)
{
	return view->header->owner_count;
}

uint64_t su_view_generation(const struct su_view *view)
{
	return view->header->generation;
}

const struct su_host *su_view_host(const struct su_view *view)
{
	return &view->header->host;
}

size_t su_view_memory(const struct su_view *view)
{
	const struct su_table_header *h = view->header;

	return sizeof(*view) + (view->slot_mask + 1) * sizeof(*view->slots) +
	       h->owner_count * sizeof(*view->fwd) + h->trusted_count * sizeof(struct su_prefix) +
	       h->peer_count * sizeof(struct su_peer) + h->owner_count * sizeof(struct su_owner) +
	       (size_t)h->key_count * sizeof(*view->keys) +
	       (size_t)h->range_count * sizeof(struct su_port_range) +
	       (size_t)view->flow_count * sizeof(*view->flow) +
	       (size_t)view->flow_row_count * sizeof(*view->flow_rows);
}

/* Whether `addr` (16 bytes, IPv4 in the first 4) lies in `p`; a bit-exact prefix compare. */
static int prefix_contains(const struct su_prefix *p, const uint8_t *addr)
{
	uint32_t full = p->prefix_len / 8, bits = p->prefix_len % 8;

	if (memcmp(p->addr, addr, full) != 0)
		return 0;
	return !bits || ((p->addr[full] ^ addr[full]) & (0xff << (8 - bits))) == 0;
}

int su_view_trusted(const struct su_view *view, uint8_t family, const uint8_t *addr)
{
	/* At most SU_TRUSTED_PEERS_MAX entries (checked at build). */
	for (uint32_t i = 0; i < view->header->trusted_count; i++)
		if (view->trusted[i].family == family && prefix_contains(&view->trusted[i], addr))
			return 1;
	return 0;
}

int su_view_peer(const struct su_view *view, uint8_t family, const uint8_t *addr)
{
	uint32_t lo = 0, n = view->header->peer_count;

	/* Sorted by (family, address), checked at build. */
	while (n > 0) {
		uint32_t half = n / 2;
		int c = su_peer_compare(&view->peers[lo + half], family, addr);

		if (c == 0)
			return 1;
		if (c < 0) {
			lo += half + 1;
			n -= half + 1;
		} else {
			n = half;
		}
	}
	return 0;
}

const struct su_owner *su_view_lookup(const struct su_view *view, uint8_t family,
				      const uint8_t *addr, uint8_t protocol, uint16_t port)
{
	struct su_found found;
	uint8_t a[16] = { 0 };

	memcpy(a, addr, family == SU_FAMILY_IPV4 ? 4 : 16);
	su_lookup_port_slice(view, &view->meta, family, a, protocol, port, &found);
	return found.owner == SU_OWNER_NONE ? NULL : &view->owners[found.owner];
}
