/* su_view: checks a table image from TypeScript (src/slices/compile.ts) field by field, copies
 * it, indexes its slice keys for lookup and works out how to forward to each owner
 * (softunicast/core.h, view.h). The image is untrusted input: nothing in it is used before it
 * has been checked. */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow_hash.h"
#include "gue.h"
#include "view.h"

#define SU_KNOWN_HOST_FLAGS (SU_HOST_HAS_IPV4 | SU_HOST_HAS_IPV6)
#define SU_KNOWN_OWNER_FLAGS (SU_OWNER_NEXT_HOP_KNOWN)

/* Every message starts the same way so that a user sees where it came from. */
#define bad(err, fmt, ...) \
	su_error_set(err, "ERR_INVALID_TABLE", 0, NULL, "Invalid table image: " fmt, ##__VA_ARGS__)

static uint8_t max_prefix(uint8_t family)
{
	return family == SU_FAMILY_IPV4 ? 32 : 128;
}

static uint8_t addr_size(uint8_t family)
{
	return family == SU_FAMILY_IPV4 ? 4 : 16;
}

/* Keeps the first `prefix_len` bits of the 16-byte `addr` in `out`. IPv4 addresses are stored in
 * the first 4 bytes with the rest zero, so one routine serves both families. */
static void mask_addr(uint8_t out[16], const uint8_t *addr, uint8_t size, uint8_t prefix_len)
{
	uint32_t full = prefix_len / 8, bits = prefix_len % 8;

	memset(out, 0, 16);
	memcpy(out, addr, full);
	if (bits && full < size)
		out[full] = (uint8_t)(addr[full] & (0xff << (8 - bits)));
}

/* "10.0.0.0/24" or "2001:db8::/32" for messages; the address need not be valid. */
static const char *format_prefix(char *buf, size_t size, uint8_t family, const uint8_t *addr,
				 uint8_t prefix_len)
{
	char text[INET6_ADDRSTRLEN];

	inet_ntop(family == SU_FAMILY_IPV4 ? AF_INET : AF_INET6, addr, text, sizeof(text));
	snprintf(buf, size, "%s/%u", text, prefix_len);
	return buf;
}

static const char *protocol_name(char *buf, size_t size, uint8_t protocol)
{
	if (protocol == IPPROTO_TCP)
		return "TCP";
	if (protocol == IPPROTO_UDP)
		return "UDP";
	snprintf(buf, size, "protocol %u", protocol);
	return buf;
}

/* "UDP 10.0.0.0/24": a key as messages name it. */
static const char *describe_key(char *buf, size_t size, const struct su_slice_key *k)
{
	char addr[80], proto[16];

	snprintf(buf, size, "%s %s", protocol_name(proto, sizeof(proto), k->protocol),
		 format_prefix(addr, sizeof(addr), k->family, k->addr, k->prefix_len));
	return buf;
}

/* Family, prefix length and host bits of a prefix (trusted peer or slice key). `what` and
 * `index` name it for the message ("trusted prefix 3", "key 12"): messages are only formatted
 * on failure, since a million keys must check in well under a second. */
static int check_prefix(const char *what, uint32_t index, uint8_t family, uint8_t prefix_len,
			const uint8_t *addr, struct su_error *err)
{
	uint8_t masked[16];
	char text[80];

	if (family != SU_FAMILY_IPV4 && family != SU_FAMILY_IPV6)
		return bad(err, "%s %u has family %u, expected 4 (IPv4) or 6 (IPv6)", what, index,
			   family);
	if (prefix_len > max_prefix(family))
		return bad(err, "%s %u has prefix length %u, longer than the %u bits of an IPv%u "
				"address",
			   what, index, prefix_len, max_prefix(family), family);
	mask_addr(masked, addr, addr_size(family), prefix_len);
	if (memcmp(masked, addr, 16) != 0)
		return bad(err, "%s %u (%s) has host bits set%s", what, index,
			   format_prefix(text, sizeof(text), family, addr, prefix_len),
			   family == SU_FAMILY_IPV4 && memcmp(masked, addr, 4) == 0 ?
				   " (bytes 4-15 of an IPv4 address must be zero)" :
				   "");
	return 0;
}

static int check_host(const struct su_host *host, struct su_error *err)
{
	if (host->flags & ~SU_KNOWN_HOST_FLAGS)
		return bad(err, "host flags 0x%x include unknown bits 0x%x", host->flags,
			   host->flags & ~SU_KNOWN_HOST_FLAGS);
	return 0;
}

static int check_owner(uint32_t index, const struct su_owner *o, struct su_error *err)
{
	if (o->kind != SU_OWNER_LOCAL && o->kind != SU_OWNER_SERVER && o->kind != SU_OWNER_DATACENTER)
		return bad(err, "owner %u has kind %u, expected 1 (local), 2 (server) or 3 (datacenter)",
			   index, o->kind);
	if (o->flags & ~SU_KNOWN_OWNER_FLAGS)
		return bad(err, "owner %u has flags 0x%x with unknown bits 0x%x", index, o->flags,
			   o->flags & ~SU_KNOWN_OWNER_FLAGS);
	if (o->kind == SU_OWNER_LOCAL)
		return 0; /* its packets are passed by the XDP program: encapsulation is unused */
	switch (o->encap) {
	case SU_ENCAP_GUE0:
	case SU_ENCAP_GUE1:
		if (o->family != SU_FAMILY_IPV4 && o->family != SU_FAMILY_IPV6)
			return bad(err, "owner %u (GUE) has endpoint family %u, expected 4 or 6", index,
				   o->family);
		if (o->gue_port == 0)
			return bad(err, "owner %u (GUE) has destination port 0", index);
		return 0;
	case SU_ENCAP_L2:
		if (o->kind != SU_OWNER_SERVER)
			return bad(err, "owner %u is a datacenter with L2 encapsulation, which only "
					"servers of this data centre can have", index);
		/* The MAC address is the whole point of an L2 owner: without it there is nowhere
		 * to send (a GUE owner's next hop may be learned later, counted drop_no_neighbour). */
		if (!(o->flags & SU_OWNER_NEXT_HOP_KNOWN))
			return bad(err, "owner %u (L2) has no MAC address (flag next-hop-known unset)",
				   index);
		return 0;
	default:
		return bad(err, "owner %u has encapsulation %u, expected 0 (GUE0), 1 (GUE1) or 2 (L2)",
			   index, o->encap);
	}
}

/* A key's run of port ranges: inside the range section, each range the right way round, sorted
 * by first port without overlap (so lookup can binary-search), owners that exist. */
static int check_ranges(const struct su_view *v, uint32_t index, const struct su_slice_key *k,
			struct su_error *err)
{
	const struct su_table_header *h = v->header;
	const struct su_port_range *r;
	char key_text[96];

	if (k->range_count == 0)
		return bad(err, "key %u (%s) has no port ranges", index,
			   describe_key(key_text, sizeof(key_text), k));
	if ((uint64_t)k->range_first + k->range_count > h->range_count)
		return bad(err, "key %u (%s) has ranges %u to %llu, but the image has %u ranges",
			   index, describe_key(key_text, sizeof(key_text), k), k->range_first,
			   (unsigned long long)k->range_first + k->range_count - 1, h->range_count);
	r = &v->ranges[k->range_first];
	for (uint32_t i = 0; i < k->range_count; i++) {
		if (r[i].first > r[i].last)
			return bad(err, "key %u (%s): range %u (ports %u-%u) is reversed", index,
				   describe_key(key_text, sizeof(key_text), k), i, r[i].first,
				   r[i].last);
		if (r[i].owner >= h->owner_count)
			return bad(err, "key %u (%s): range %u (ports %u-%u) names owner %u, but the "
					"image has %u owners",
				   index, describe_key(key_text, sizeof(key_text), k), i, r[i].first,
				   r[i].last, r[i].owner,
				   h->owner_count);
		if (i > 0 && r[i].first <= r[i - 1].last)
			return bad(err, "key %u (%s): range %u (ports %u-%u) does not start after range "
					"%u (ports %u-%u) ends; a key's ranges must be sorted and disjoint",
				   index, describe_key(key_text, sizeof(key_text), k), i, r[i].first,
				   r[i].last, i - 1, r[i - 1].first,
				   r[i - 1].last);
	}
	return 0;
}

/* A key's first word as the lookup compares it (view.h): family, prefix length, protocol, zero. */
static uint32_t key_meta(uint8_t family, uint8_t prefix_len, uint8_t protocol)
{
	const uint8_t bytes[4] = { family, prefix_len, protocol, 0 };

	return su_load32(bytes);
}

/* The index hash of key `k` (view.h), as a lookup for its address computes it. */
static uint64_t key_hash(const struct su_slice_key *k)
{
	uint32_t meta = key_meta(k->family, k->prefix_len, k->protocol);

	if (k->family == SU_FAMILY_IPV4)
		return su_view_hash4(su_load32(k->addr), meta);
	return su_view_hash6(su_load64(k->addr), su_load64(k->addr + 8), meta);
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

/* What a lookup at prefix length `len` of `family` needs (view.h). */
static void add_len(struct su_view_len *l, uint8_t family, uint8_t len)
{
	l->mask[0] = word_mask(len);
	l->mask[1] = word_mask(len - 64);
	if (family == SU_FAMILY_IPV4) {
		/* An IPv4 address is loaded as one 32-bit word: its mask is the first 4 bytes'. */
		uint8_t bytes[8];

		memcpy(bytes, &l->mask[0], sizeof(bytes));
		l->mask[0] = su_load32(bytes);
	}
	l->meta = key_meta(family, len, 0);
}

static int same_key(const struct su_view_key *a, const struct su_view_key *b)
{
	return a->meta == b->meta && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* Key `k`'s lookup form (view.h), from the checked image key `src`. */
static void fill_key(const struct su_view *v, const struct su_slice_key *src,
		     struct su_view_key *k)
{
	const struct su_port_range *r = &v->ranges[src->range_first];
	uint32_t width = (uint32_t)(r[0].last - r[0].first) + 1;

	k->meta = key_meta(src->family, src->prefix_len, src->protocol);
	k->range_first = src->range_first;
	k->range_count = src->range_count;
	k->base = r[0].first;
	k->shift = (uint8_t)__builtin_ctz(width);
	k->even = 1;
	for (uint32_t i = 0; i < src->range_count && k->even; i++)
		k->even = r[i].first == k->base + (i << k->shift) &&
			  r[i].last == k->base + ((i + 1) << k->shift) - 1;
	memcpy(k->addr, src->addr, sizeof(k->addr));
}

/* Checks every key of the image's key section `src` (the caller's buffer, which may change
 * under us: each key is read once, into a local copy, and only the copy is used) and inserts
 * it into the index. */
static int index_keys(struct su_view *v, const uint8_t *src, struct su_error *err)
{
	uint32_t count = v->header->key_count;
	uint8_t seen4[SU_VIEW_IPV4_LENS] = { 0 }, seen6[SU_VIEW_IPV6_LENS] = { 0 };
	uint64_t capacity = 16;
	uint32_t shift = 60;
	char key_text[96];
	int ret;

	while (capacity < 2 * (uint64_t)count) {
		capacity *= 2;
		shift--;
	}
	v->slots = calloc(capacity, sizeof(*v->slots));
	if (!v->slots)
		return su_error_set(err, "ERR_INVALID_TABLE", ENOMEM, NULL,
				    "Could not allocate the index of %u slice keys", count);
	v->slot_mask = capacity - 1;
	v->slot_shift = shift;
	/* Whole cache lines, two keys each. */
	v->keys = aligned_alloc(64, ((size_t)count * sizeof(*v->keys) + 63) / 64 * 64 + 64);
	if (!v->keys)
		return su_error_set(err, "ERR_INVALID_TABLE", ENOMEM, NULL,
				    "Could not allocate %u slice keys", count);

	for (uint32_t i = 0; i < count; i++) {
		struct su_slice_key copy, *k = &copy;
		uint64_t h, slot;
		uint32_t tag, probe;

		memcpy(&copy, src + (size_t)i * sizeof(copy), sizeof(copy));
		ret = check_prefix("key", i, k->family, k->prefix_len, k->addr, err);
		if (ret)
			return ret;
		if (k->protocol != IPPROTO_TCP && k->protocol != IPPROTO_UDP)
			return bad(err, "key %u (%s) has protocol %u, expected 6 (TCP) or 17 (UDP)", i,
				   describe_key(key_text, sizeof(key_text), k), k->protocol);
		ret = check_ranges(v, i, k, err);
		if (ret)
			return ret;
		fill_key(v, k, &v->keys[i]);

		h = key_hash(k);
		tag = (uint32_t)(h >> 32);
		/* Load stays at most one half: every probe sequence ends at an empty slot. */
		for (slot = h >> shift, probe = 1;; slot = (slot + 1) & v->slot_mask, probe++) {
			struct su_view_slot *s = &v->slots[slot];

			if (!s->key) {
				s->tag = tag;
				s->key = i + 1;
				break;
			}
			if (s->tag == tag && same_key(&v->keys[s->key - 1], &v->keys[i]))
				return bad(err, "key %u (%s) repeats key %u", i,
					   describe_key(key_text, sizeof(key_text), k), s->key - 1);
		}
		if (probe > v->max_probe)
			v->max_probe = probe;
		if (k->family == SU_FAMILY_IPV4)
			seen4[k->prefix_len] = 1;
		else
			seen6[k->prefix_len] = 1;
	}

	for (int len = 32; len >= 0; len--)
		if (seen4[len])
			add_len(&v->ipv4_lens[v->ipv4_len_count++], SU_FAMILY_IPV4, (uint8_t)len);
	for (int len = 128; len >= 0; len--)
		if (seen6[len])
			add_len(&v->ipv6_lens[v->ipv6_len_count++], SU_FAMILY_IPV6, (uint8_t)len);
	return 0;
}

/* What route.c's forward() decides about `o` whatever the packet, in its order: an owner this
 * host cannot send to is dropped before the packet's size is looked at. */
static uint8_t fate_of(const struct su_host *host, const struct su_owner *o, int decapsulated)
{
	if (o->kind == SU_OWNER_LOCAL)
		return SU_ROUTE_drop_local;
	/* A data centre sends only what belongs here: sending it on to yet another data centre
	 * could loop between two with disagreeing tables. */
	if (decapsulated && o->kind == SU_OWNER_DATACENTER)
		return SU_ROUTE_drop_loop;
	if (!(o->flags & SU_OWNER_NEXT_HOP_KNOWN))
		return SU_ROUTE_drop_no_neighbour;
	if (o->encap == SU_ENCAP_L2)
		return SU_ROUTE_forward_server_l2;
	if (o->family == SU_FAMILY_IPV4 ? !(host->flags & SU_HOST_HAS_IPV4) :
					  !(host->flags & SU_HOST_HAS_IPV6))
		return SU_ROUTE_drop_no_source;
	return o->kind == SU_OWNER_SERVER ? SU_ROUTE_forward_server_gue : SU_ROUTE_encap_datacenter;
}

/* Each owner's forwarding record (view.h), from the checked owners and host. */
static int prepare_owners(struct su_view *v, struct su_error *err)
{
	const struct su_host *host = &v->header->host;
	uint32_t count = v->header->owner_count;

	v->fwd = calloc(count ? count : 1, sizeof(*v->fwd));
	if (!v->fwd)
		return su_error_set(err, "ERR_INVALID_TABLE", ENOMEM, NULL,
				    "Could not allocate forwarding for %u owners", count);
	for (uint32_t i = 0; i < count; i++) {
		const struct su_owner *o = &v->owners[i];
		struct su_view_owner *f = &v->fwd[i];

		f->owner = o;
		f->fate = fate_of(host, o, 0);
		f->fate_decapsulated = fate_of(host, o, 1);
		if (f->fate == SU_ROUTE_forward_server_l2) {
			/* The MTU counts the IP packet: VLAN tags and padding are not part of it. */
			f->max_ip_len = host->mtu;
			memcpy(f->hdr[0], o->next_hop_mac, 6);
			memcpy(f->hdr[0] + 6, host->mac, 6);
		} else if (SU_ROUTE_TRANSMITS(f->fate)) {
			su_gue_prepare(host, o, f);
			/* Never truncate, never fragment: the outer IP packet must fit the MTU. */
			f->max_ip_len = host->mtu + SU_ETH_HLEN > f->hdr_len ?
						host->mtu + SU_ETH_HLEN - f->hdr_len : 0;
		}
	}
	for (int ipv6 = 0; ipv6 < 2; ipv6++)
		for (int udp = 0; udp < 2; udp++)
			v->flow_start[ipv6][udp] = su_flow_hash_start(
				host->flow_hash_seed, ipv6 ? SU_FAMILY_IPV6 : SU_FAMILY_IPV4,
				udp ? IPPROTO_UDP : IPPROTO_TCP);
	return 0;
}

/* The header (a copy, into `h`), and that the image is exactly as long as its counts say. */
static int check_header(const void *image, size_t size, struct su_table_header *out,
			struct su_error *err)
{
	struct su_table_header h;
	uint64_t expected;

	if (size < sizeof(h))
		return bad(err, "%zu bytes, shorter than the %zu-byte header", size, sizeof(h));
	memcpy(&h, image, sizeof(h));
	*out = h;
	if (h.magic != SU_TABLE_MAGIC)
		return bad(err, "magic 0x%08x, expected 0x%08x (\"SUTB\")", h.magic, SU_TABLE_MAGIC);
	if (h.abi_version != SU_ABI_VERSION)
		return bad(err, "ABI version %u, but the native fast path was built for version %u",
			   h.abi_version, SU_ABI_VERSION);
	if (h.trusted_count > SU_TRUSTED_PEERS_MAX)
		return bad(err, "%u trusted prefixes, more than the %u the XDP program holds",
			   h.trusted_count, SU_TRUSTED_PEERS_MAX);
	/* 64-bit arithmetic: four 32-bit counts times at most 32 bytes cannot overflow it. */
	expected = sizeof(h) + (uint64_t)h.trusted_count * sizeof(struct su_prefix) +
		   (uint64_t)h.owner_count * sizeof(struct su_owner) +
		   (uint64_t)h.key_count * sizeof(struct su_slice_key) +
		   (uint64_t)h.range_count * sizeof(struct su_port_range);
	if (expected != size)
		return bad(err, "%zu bytes, but its counts (trusted prefixes %u, owners %u, keys %u, "
				"ranges %u) make %llu",
			   size, h.trusted_count, h.owner_count, h.key_count, h.range_count,
			   (unsigned long long)expected);
	return 0;
}

int su_view_build(const void *image, size_t size, struct su_view **out, struct su_error *err)
{
	struct su_table_header h;
	size_t head, keys;
	struct su_view *v;
	uint8_t *copy;
	int ret;

	ret = check_header(image, size, &h, err);
	if (ret)
		return ret;
	/* Sizes from the checked header: they add up to `size`. */
	head = sizeof(h) + (size_t)h.trusted_count * sizeof(struct su_prefix) +
	       (size_t)h.owner_count * sizeof(struct su_owner);
	keys = (size_t)h.key_count * sizeof(struct su_slice_key);

	v = calloc(1, sizeof(*v));
	if (!v)
		return su_error_set(err, "ERR_INVALID_TABLE", ENOMEM, NULL,
				    "Could not allocate the table view");
	copy = malloc(size - keys);
	if (!copy) {
		ret = su_error_set(err, "ERR_INVALID_TABLE", ENOMEM, NULL,
				   "Could not allocate %zu bytes for the table image", size);
		goto err_free;
	}
	/* Checked and used from our own copy: the caller's buffer may change under us. The keys
	 * are read once each by index_keys, into the view's own form (view.h). */
	memcpy(copy, image, head);
	memcpy(copy + head, (const uint8_t *)image + head + keys, size - head - keys);
	v->image = copy;
	v->header_copy = h;
	v->header = &v->header_copy;
	v->trusted = (const struct su_prefix *)(copy + sizeof(h));
	v->owners = (const struct su_owner *)(v->trusted + h.trusted_count);
	v->ranges = (const struct su_port_range *)(copy + head);

	ret = check_host(&v->header->host, err);
	if (ret)
		goto err_free;
	for (uint32_t i = 0; i < v->header->trusted_count; i++) {
		const struct su_prefix *p = &v->trusted[i];

		ret = check_prefix("trusted prefix", i, p->family, p->prefix_len, p->addr, err);
		if (ret)
			goto err_free;
	}
	for (uint32_t i = 0; i < v->header->owner_count; i++) {
		ret = check_owner(i, &v->owners[i], err);
		if (ret)
			goto err_free;
	}
	ret = prepare_owners(v, err);
	if (ret)
		goto err_free;
	ret = index_keys(v, (const uint8_t *)image + head, err);
	if (ret)
		goto err_free;
	*out = v;
	return 0;

err_free:
	su_view_free(v);
	return ret;
}

void su_view_free(struct su_view *view)
{
	if (!view)
		return;
	free(view->slots);
	free(view->keys);
	free(view->fwd);
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

	return sizeof(*view) + (view->slot_mask + 1) * sizeof(*view->slots) + sizeof(*h) +
	       h->owner_count * sizeof(*view->fwd) +
	       h->trusted_count * sizeof(struct su_prefix) + h->owner_count * sizeof(struct su_owner) +
	       (size_t)h->key_count * sizeof(*view->keys) +
	       (size_t)h->range_count * sizeof(struct su_port_range);
}

const struct su_owner *su_view_lookup(const struct su_view *view, uint8_t family,
				      const uint8_t *addr, uint8_t protocol, uint16_t port)
{
	const struct su_view_owner *o = su_view_find(view, family, addr, protocol, port);

	return o ? o->owner : NULL;
}

/* Whether `addr` (4 or 16 bytes) lies in `p`; a bit-exact prefix compare. */
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
