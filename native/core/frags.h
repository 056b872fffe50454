/* The fragment table of the fast path (softunicast/core.h, struct su_frag_table): where each
 * fragmented datagram's first piece (the only one with ports) was sent, so that its later pieces
 * follow. Keyed by family, protocol, identification and both addresses (RFC 791 3.2, RFC 8200
 * 4.5); bounded (a power of two of entries, two slots per key, the older one overwritten) and
 * expiring after SU_FRAG_TTL_NS, as a reassembly queue would. One per worker thread: the
 * pieces of one datagram share an RX queue (RSS hashes fragments on the addresses alone). */
#ifndef SU_CORE_FRAGS_H
#define SU_CORE_FRAGS_H

#include <stdint.h>

#include "parse.h"
#include "view.h"

/* Linux keeps IPv4 reassembly queues 30 s (net.ipv4.ipfrag_time); later pieces come sooner. */
#define SU_FRAG_TTL_NS (30ull * 1000 * 1000 * 1000)

/* A table whose clock is `now` (nanoseconds, monotonic): tests pass their own. */
struct su_frag_table *su_frag_table_new_clock(uint32_t entries, uint64_t (*now)(void));

/* Records that the datagram of `first` (a SU_FRAGMENT_FIRST piece) goes to `owner` of `view`. */
void su_frag_remember(struct su_frag_table *t, const struct su_view *view,
		      const struct su_ip *first, const struct su_owner *owner);

/* The owner the first piece of `later`'s datagram went to, if recorded, unexpired, and of this
 * very table generation (after a publish, owner indexes name other owners); else NULL. */
const struct su_owner *su_frag_owner(struct su_frag_table *t, const struct su_view *view,
				     const struct su_ip *later);

#endif /* SU_CORE_FRAGS_H */
