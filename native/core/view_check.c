/* The checks of a table image (softunicast/table.h) that su_view_build makes before it uses any
 * part of it: sizes and counts, owners, peers, each key's ranges (prefixes: view_prefix.c). The
 * image comes from TypeScript (src/slices/compile.ts) but is untrusted input all the same: the
 * fuzzers feed it garbage (native/fuzz). Messages name the bad part and what was expected. */
#include <string.h>

#include "view_check.h"
#include "view_prefix.h"

#define SU_KNOWN_HOST_FLAGS (SU_HOST_HAS_IPV4 | SU_HOST_HAS_IPV6)
#define SU_KNOWN_OWNER_FLAGS (SU_OWNER_NEXT_HOP_KNOWN)
#define SU_KNOWN_PEER_FLAGS (SU_PEER_HAS_MAC)

int su_check_host(const struct su_host *host, struct su_error *err)
{
	if (host->flags & ~SU_KNOWN_HOST_FLAGS)
		return su_bad(err, "host flags 0x%x include unknown bits 0x%x", host->flags,
			      host->flags & ~SU_KNOWN_HOST_FLAGS);
	return 0;
}

int su_check_owner(uint32_t index, const struct su_owner *o, struct su_error *err)
{
	if (o->kind != SU_OWNER_LOCAL && o->kind != SU_OWNER_SERVER && o->kind != SU_OWNER_DATACENTER)
		return su_bad(err, "owner %u has kind %u, expected 1 (local), 2 (server) or 3 "
				   "(datacenter)",
			      index, o->kind);
	if (o->flags & ~SU_KNOWN_OWNER_FLAGS)
		return su_bad(err, "owner %u has flags 0x%x with unknown bits 0x%x", index, o->flags,
			      o->flags & ~SU_KNOWN_OWNER_FLAGS);
	if (o->kind == SU_OWNER_LOCAL)
		return 0; /* its packets go to the kernel: encapsulation is unused */
	switch (o->encap) {
	case SU_ENCAP_GUE0:
	case SU_ENCAP_GUE1:
		if (o->family != SU_FAMILY_IPV4 && o->family != SU_FAMILY_IPV6)
			return su_bad(err, "owner %u (GUE) has endpoint family %u, expected 4 or 6",
				      index, o->family);
		if (o->gue_port == 0)
			return su_bad(err, "owner %u (GUE) has destination port 0", index);
		return 0;
	case SU_ENCAP_GLB:
		/* GLB hop lists hold IPv4 addresses only, and the backend that reads them
		 * (bpf/backend.bpf.c) takes an IPv4 outer header: the whole path is IPv4. */
		if (o->kind != SU_OWNER_SERVER || o->family != SU_FAMILY_IPV4)
			return su_bad(err, "owner %u (GLB) is of kind %u with endpoint family %u, "
					   "expected a server (2) with an IPv4 endpoint (4)",
				      index, o->kind, o->family);
		if (o->gue_port == 0)
			return su_bad(err, "owner %u (GLB) has destination port 0", index);
		/* The packet path reads a hop of 0 as "no hop" (native/core/glb.h). */
		if (!(o->endpoint[0] | o->endpoint[1] | o->endpoint[2] | o->endpoint[3]))
			return su_bad(err, "owner %u (GLB) has endpoint 0.0.0.0", index);
		return 0;
	case SU_ENCAP_L2:
		if (o->kind != SU_OWNER_SERVER)
			return su_bad(err, "owner %u is a datacenter with L2 encapsulation, which only "
					   "servers of this data centre can have",
				      index);
		/* The MAC address is the whole point of an L2 owner: without it there is nowhere
		 * to send (a GUE owner's next hop may be learned later, counted drop_no_neighbour). */
		if (!(o->flags & SU_OWNER_NEXT_HOP_KNOWN))
			return su_bad(err, "owner %u (L2) has no MAC address (flag next-hop-known unset)",
				      index);
		return 0;
	default:
		return su_bad(err, "owner %u has encapsulation %u, expected 0 (GUE0), 1 (GUE1), 2 "
				   "(L2) or 3 (GLB)",
			      index, o->encap);
	}
}

int su_check_peers(const struct su_peer *peers, uint32_t count, struct su_error *err)
{
	for (uint32_t i = 0; i < count; i++) {
		const struct su_peer *p = &peers[i];
		int ret = su_check_prefix("peer", i, p->family, su_max_prefix(p->family), p->addr, err);

		if (ret)
			return ret;
		if (p->flags & ~SU_KNOWN_PEER_FLAGS)
			return su_bad(err, "peer %u has flags 0x%x with unknown bits 0x%x", i, p->flags,
				      p->flags & ~SU_KNOWN_PEER_FLAGS);
		/* Sorted and unique: lookups halve the list. */
		if (i > 0 && su_peer_compare(&peers[i - 1], p->family, p->addr) >= 0)
			return su_bad(err, "peer %u does not sort after peer %u: peers must be sorted "
					   "by family and address, each once",
				      i, i - 1);
	}
	return 0;
}

int su_check_ranges(const struct su_table_header *h, const struct su_port_range *ranges,
		    uint32_t index, const struct su_slice_key *k, struct su_error *err)
{
	const struct su_port_range *r;
	char key_text[96];

	if (k->range_count == 0)
		return su_bad(err, "key %u (%s) has no port ranges", index,
			      su_describe_key(key_text, sizeof(key_text), k));
	if ((uint64_t)k->range_first + k->range_count > h->range_count)
		return su_bad(err, "key %u (%s) has ranges %u to %llu, but the image has %u ranges",
			      index, su_describe_key(key_text, sizeof(key_text), k), k->range_first,
			      (unsigned long long)k->range_first + k->range_count - 1, h->range_count);
	r = &ranges[k->range_first];
	for (uint32_t i = 0; i < k->range_count; i++) {
		if (r[i].first > r[i].last)
			return su_bad(err, "key %u (%s): range %u (ports %u-%u) is reversed", index,
				      su_describe_key(key_text, sizeof(key_text), k), i, r[i].first,
				      r[i].last);
		if (r[i].owner >= h->owner_count)
			return su_bad(err, "key %u (%s): range %u (ports %u-%u) names owner %u, but the "
					   "image has %u owners",
				      index, su_describe_key(key_text, sizeof(key_text), k), i,
				      r[i].first, r[i].last, r[i].owner, h->owner_count);
		if (i > 0 && r[i].first <= r[i - 1].last)
			return su_bad(err, "key %u (%s): range %u (ports %u-%u) does not start after "
					   "range %u (ports %u-%u) ends; a key's ranges must be sorted "
					   "and disjoint",
				      index, su_describe_key(key_text, sizeof(key_text), k), i,
				      r[i].first, r[i].last, i - 1, r[i - 1].first, r[i - 1].last);
	}
	return 0;
}

/* Kind `kind`'s name as table.h spells it, or NULL for a kind this build does not know. */
const char *su_key_kind_name(uint32_t kind)
{
	switch (kind) {
#define SU_X(name, value, text, doc) \
	case value:                  \
		return text;
		SU_KEY_KINDS(SU_X)
#undef SU_X
	default:
		return NULL;
	}
}

/* What messages list as the kinds there are: "1 (port-slice)". */
#define SU_X(name, value, text, doc) " " #value " (" text ")"
static const char known_kinds[] = SU_KEY_KINDS(SU_X);
#undef SU_X

/* The port-slice section holds the keys then the ranges the header counts (table.h). */
static int check_port_slice_section(const struct su_table_header *h, uint32_t index,
				    const struct su_section *s, struct su_error *err)
{
	uint64_t expected = (uint64_t)h->key_count * sizeof(struct su_slice_key) +
			    (uint64_t)h->range_count * sizeof(struct su_port_range);

	if (s->size != expected)
		return su_bad(err, "section %u (port-slice) is %u bytes, but key_count %u and "
				   "range_count %u make %llu",
			      index, s->size, h->key_count, h->range_count,
			      (unsigned long long)expected);
	return 0;
}

static int is_prime(uint32_t n)
{
	if (n < 2)
		return 0;
	for (uint32_t d = 2; (uint64_t)d * d <= n; d++)
		if (n % d == 0)
			return 0;
	return 1;
}

/* The flow-hash section: its head's counts make its size; rows prime (Maglev's table size) and
 * within the limits. Its services and rows are checked as the view copies them (view_flow.c). */
static int check_flow_hash_section(const uint8_t *image, uint32_t index,
				   const struct su_section *s, struct su_error *err)
{
	struct su_flow_head head;
	uint64_t expected;

	if (s->size < sizeof(head))
		return su_bad(err, "section %u (flow-hash) is %u bytes, shorter than its %zu-byte "
				   "head",
			      index, s->size, sizeof(head));
	memcpy(&head, image + s->offset, sizeof(head));
	if (head.rows == 0 || head.rows > SU_FLOW_ROWS_MAX || !is_prime(head.rows))
		return su_bad(err, "section %u (flow-hash) has %u rows per service, expected a prime "
				   "from 2 to %u",
			      index, head.rows, SU_FLOW_ROWS_MAX);
	if ((uint64_t)head.service_count * head.rows > SU_FLOW_SECTION_ROWS_MAX)
		return su_bad(err, "section %u (flow-hash) has %u services of %u rows, more than the "
				   "%u rows a section holds",
			      index, head.service_count, head.rows, SU_FLOW_SECTION_ROWS_MAX);
	expected = sizeof(head) + (uint64_t)head.service_count * sizeof(struct su_flow_service) +
		   (uint64_t)head.service_count * head.rows * sizeof(struct su_flow_row);
	if (s->size != expected)
		return su_bad(err, "section %u (flow-hash) is %u bytes, but service_count %u and rows "
				   "%u make %llu",
			      index, s->size, head.service_count, head.rows,
			      (unsigned long long)expected);
	return 0;
}

/* Section `i`: a known kind, once, 4-byte aligned, after the fixed parts (which end at byte
 * `fixed`), inside the image, apart from the sections before it. */
static int check_section(const struct su_table_header *h, const uint8_t *image, uint32_t i,
			 size_t fixed, size_t size, struct su_error *err)
{
	const struct su_section *s = &h->sections[i];
	const char *name = su_key_kind_name(s->kind);
	uint64_t end = (uint64_t)s->offset + s->size;

	if (!name)
		return su_bad(err, "section %u has key kind %u, expected one of:%s", i, s->kind,
			      known_kinds);
	if (s->offset < fixed || s->offset % 4)
		return su_bad(err, "section %u (%s) starts at byte %u, expected a multiple of 4 at or "
				   "after byte %zu, where the header, trusted prefixes, peers and "
				   "owners end",
			      i, name, s->offset, fixed);
	if (end > size)
		return su_bad(err, "section %u (%s) ends at byte %llu, past the image's %zu bytes", i,
			      name, (unsigned long long)end, size);
	for (uint32_t j = 0; j < i; j++) {
		const struct su_section *o = &h->sections[j];

		if (s->offset < (uint64_t)o->offset + o->size && o->offset < end)
			return su_bad(err, "section %u (%s, bytes %u-%llu) overlaps section %u (%s, "
					   "bytes %u-%llu)",
				      i, name, s->offset, (unsigned long long)end, j,
				      su_key_kind_name(o->kind), o->offset,
				      (unsigned long long)o->offset + o->size);
		if (o->kind == s->kind)
			return su_bad(err, "section %u repeats key kind %u (%s) of section %u: a kind "
					   "has at most one section",
				      i, s->kind, name, j);
	}
	if (s->kind == SU_KEY_KIND_PORT_SLICE)
		return check_port_slice_section(h, i, s, err);
	if (s->kind == SU_KEY_KIND_FLOW_HASH)
		return check_flow_hash_section(image, i, s, err);
	if (s->kind == SU_KEY_KIND_ADDRESS_SLICE)
		return su_check_addr_section(image, i, s, err);
	return 0;
}

/* The sections (table.h): each sound, together exactly the bytes after the fixed parts. */
static int check_sections(const struct su_table_header *h, const uint8_t *image, size_t fixed,
			  size_t size, struct su_error *err)
{
	static const struct su_section unused;
	uint64_t total = fixed;
	int port_slice = 0, ret;

	if (h->section_count > SU_SECTIONS_MAX)
		return su_bad(err, "%u sections, more than the %u an image lists (SU_SECTIONS_MAX)",
			      h->section_count, SU_SECTIONS_MAX);
	for (uint32_t i = 0; i < SU_SECTIONS_MAX; i++) {
		if (i >= h->section_count) {
			if (memcmp(&h->sections[i], &unused, sizeof(unused)) != 0)
				return su_bad(err, "section entry %u is not zero, but section_count "
						   "is %u: entries past the count must be zero",
					      i, h->section_count);
			continue;
		}
		ret = check_section(h, image, i, fixed, size, err);
		if (ret)
			return ret;
		total += h->sections[i].size;
		port_slice |= h->sections[i].kind == SU_KEY_KIND_PORT_SLICE;
	}
	if (!port_slice && (h->key_count || h->range_count))
		return su_bad(err, "key_count %u and range_count %u, but no port-slice section holds "
				   "them",
			      h->key_count, h->range_count);
	/* Inside the image and apart: equal sums mean they tile it without a gap. */
	if (total != size)
		return su_bad(err, "%zu bytes, but the header, trusted prefixes, peers and owners "
				   "(%zu bytes) and the %u sections make %llu",
			      size, fixed, h->section_count, (unsigned long long)total);
	return 0;
}

int su_check_header(const void *image, size_t size, struct su_table_header *out,
		    struct su_error *err)
{
	struct su_table_header h;
	uint64_t fixed;

	if (size < sizeof(h))
		return su_bad(err, "%zu bytes, shorter than the %zu-byte header", size, sizeof(h));
	memcpy(&h, image, sizeof(h));
	*out = h;
	if (h.magic != SU_TABLE_MAGIC)
		return su_bad(err, "magic 0x%08x, expected 0x%08x (\"SUTB\")", h.magic,
			      SU_TABLE_MAGIC);
	if (h.abi_version != SU_ABI_VERSION)
		return su_bad(err, "ABI version %u, but the native fast path was built for version "
				   "%u",
			      h.abi_version, SU_ABI_VERSION);
	if (h.trusted_count > SU_TRUSTED_PEERS_MAX)
		return su_bad(err, "%u trusted prefixes, more than the %u the XDP program holds",
			      h.trusted_count, SU_TRUSTED_PEERS_MAX);
	if (h.peer_count > SU_PEERS_MAX)
		return su_bad(err, "%u peers, more than the %u the XDP program holds", h.peer_count,
			      SU_PEERS_MAX);
	/* 64-bit arithmetic: a 32-bit count times at most 32 bytes cannot overflow it. */
	fixed = sizeof(h) + (uint64_t)h.trusted_count * sizeof(struct su_prefix) +
		(uint64_t)h.peer_count * sizeof(struct su_peer) +
		(uint64_t)h.owner_count * sizeof(struct su_owner);
	if (fixed > size)
		return su_bad(err, "%zu bytes, but its counts (trusted prefixes %u, peers %u, owners "
				   "%u) make %llu before any section",
			      size, h.trusted_count, h.peer_count, h.owner_count,
			      (unsigned long long)fixed);
	return check_sections(&h, image, (size_t)fixed, size, err);
}
