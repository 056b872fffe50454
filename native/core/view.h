/* The inside of a compiled slice table (struct su_view): the checked image and its lookup index.
 * Private to native/core; everyone else goes through softunicast/core.h. */
#ifndef SU_CORE_VIEW_H
#define SU_CORE_VIEW_H

#include <stdint.h>

#include "softunicast/core.h"

/* One slot of the open-addressing index. `key` is the slice key's index plus one (0: empty
 * slot); `tag` is the high half of the key's hash, compared before touching the key itself so
 * that a miss rarely costs a second cache line. Eight bytes, so that a million keys take 16 MiB. */
struct su_view_slot {
	uint32_t tag;
	uint32_t key;
};

#define SU_VIEW_IPV4_LENS 33  /* prefix lengths 0..32 */
#define SU_VIEW_IPV6_LENS 129 /* prefix lengths 0..128 */

struct su_view {
	/* Sections of `image` (a private copy, malloc-aligned, every section 4-byte aligned). */
	const struct su_table_header *header;
	const struct su_prefix *trusted;
	const struct su_owner *owners;
	const struct su_slice_key *keys;
	const struct su_port_range *ranges;
	void *image;

	struct su_view_slot *slots;
	uint64_t slot_mask; /* capacity - 1, capacity a power of two >= 2 * key_count */
	/* The longest probe sequence any key needed at build time: lookups stop after this many
	 * slots, a bound known in advance (what a BPF port of the lookup would need). */
	uint32_t max_probe;

	/* Prefix lengths present per family, longest first: a lookup tries each once. */
	uint8_t ipv4_lens[SU_VIEW_IPV4_LENS];
	uint8_t ipv4_len_count;
	uint8_t ipv6_lens[SU_VIEW_IPV6_LENS];
	uint8_t ipv6_len_count;
};

/* Whether `addr` (4 or 16 bytes, network order) lies in one of the trusted GUE peer prefixes. */
int su_view_trusted(const struct su_view *view, uint8_t family, const uint8_t *addr);

#endif /* SU_CORE_VIEW_H */
