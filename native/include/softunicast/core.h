/* The fast path's core: a compiled slice table ("view") and the function that decides and
 * rewrites one packet. Plain C11: no N-API, no sockets, no allocation on the packet path, so
 * that golden-packet tests, fuzzers and callgrind run it without root. Used by native/router
 * (on the worker threads) and the addon's SliceView (explain). */
#ifndef SOFTUNICAST_CORE_H
#define SOFTUNICAST_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "softunicast/abi.h"
#include "softunicast/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Headroom that always suffices: outer Ethernet + IPv6 + UDP + GUE header. The encapsulator
 * writes these in front of the IP header, over the received Ethernet header, so a packet grows
 * by at most this minus 14; frames given this much headroom never fail for lack of it. */
#define SU_CORE_MAX_GROWTH (14 + 40 + 8 + SU_GUE_V0_HEADER_LEN)

struct su_view;

/* Checks a table image completely (sizes, indexes, order, host bits) and indexes it for lookup.
 * The image is copied; the caller keeps its buffer. 0, or -EINVAL/-ENOMEM with `err` naming
 * the first problem (code ERR_INVALID_TABLE), e.g. "Invalid table image: key 12 (UDP
 * 198.51.100.0/24): range 3 (ports 100-50) is reversed". A million keys take a fraction of a
 * second: no allocation per key. */
int su_view_build(const void *image, size_t size, struct su_view **out, struct su_error *err);
void su_view_free(struct su_view *view);
uint64_t su_view_generation(const struct su_view *view);
const struct su_host *su_view_host(const struct su_view *view);
/* Bytes the view holds (image copy and index), for the addon to tell the JS garbage collector. */
size_t su_view_memory(const struct su_view *view);

/* The owner of (destination address, protocol, destination port), or NULL. `addr` is 4 or 16
 * bytes in network order; `protocol` IPPROTO_TCP or IPPROTO_UDP. Constant time in the table's
 * size: one hash probe per prefix length present in the table. */
const struct su_owner *su_view_lookup(const struct su_view *view, uint8_t family,
				      const uint8_t *addr, uint8_t protocol, uint16_t port);

/* Decides one packet and rewrites it in place (native/core/route.c has the steps: parse, GUE
 * decapsulation for trusted peers, lookup, L2 rewrite or GUE encapsulation). `*data` points at
 * the Ethernet header of a packet of `*len` bytes with `headroom` writable bytes before it (at
 * least SU_CORE_MAX_GROWTH for encapsulation to succeed). On return *data and *len describe
 * the packet to transmit; the result names the packet's fate (SU_ROUTE_TRANSMITS() says
 * whether to send it). `view` may be NULL (no table yet). */
enum su_route_counter su_core_route(const struct su_view *view, uint8_t **data, uint32_t *len,
				    uint32_t headroom);

/* Where the pieces of fragmented datagrams go: learnt from each first fragment (the only piece
 * with ports), asked by the later ones, which follow it to the same owner. Bounded (`entries`,
 * a power of two >= 2) and expiring (30 s, as a reassembly queue); one per worker thread, no
 * locking. NULL when `entries` is not a power of two or memory is short. */
struct su_frag_table;
struct su_frag_table *su_frag_table_new(uint32_t entries);
void su_frag_table_free(struct su_frag_table *table);

/* su_core_route with a fragment table: first fragments are remembered in `frags`, later ones
 * sent where their first went (drop_fragment when it was not seen, has expired, or the table
 * changed since). su_core_route is this with no table: every later fragment is dropped. */
enum su_route_counter su_core_route_frags(const struct su_view *view, struct su_frag_table *frags,
					  uint8_t **data, uint32_t *len, uint32_t headroom);

/* su_core_route_frags that also says whom the packet was for: `*owner` is the index of the
 * owner its slice belongs to (among the image's owners, su_view_owner_count of them), set
 * whenever the lookup found one, transmitted or dropped; SU_OWNER_NONE when it did not get
 * that far (malformed, no owner, no table). The router counts per owner with it. */
enum su_route_counter su_core_route_owner(const struct su_view *view, struct su_frag_table *frags,
					  uint8_t **data, uint32_t *len, uint32_t headroom,
					  uint32_t *owner);
uint32_t su_view_owner_count(const struct su_view *view);

/* The forms the XDP program's maps hold (softunicast/tables.h), read from a built view by
 * native/router/xdp_tables.c. Pointers stay valid while the view lives. */
const struct su_meta *su_view_meta(const struct su_view *view);
uint32_t su_view_key_count(const struct su_view *view);
void su_view_key(const struct su_view *view, uint32_t index, struct su_key_id *id,
		 struct su_key_ranges *ranges);
const struct su_port_range *su_view_ranges(const struct su_view *view, uint32_t *count);
const struct su_fwd *su_view_fwds(const struct su_view *view, uint32_t *count);
const struct su_prefix *su_view_trusted_prefixes(const struct su_view *view, uint32_t *count);
const struct su_peer *su_view_peers(const struct su_view *view, uint32_t *count);
/* The flow-hash index: `*count` entries (services and address entries, when `count` is not
 * NULL), entry `index`'s key and value (when `key` is not NULL); and the rows. */
void su_view_flow_entries(const struct su_view *view, uint32_t index, uint32_t *count,
			  const struct su_flow_key **key, const struct su_flow_svc **svc);
const struct su_flow_row *su_view_flow_rows(const struct su_view *view, uint64_t *count);

/* Owner `owner`'s next hop is now `mac` (a GUE owner's; an L2 owner's MAC is its own, from the
 * table): its forwarding record is worked out anew and written into the view in use in whole
 * 8-byte words, so that workers reading it meanwhile see the old record's words or the new;
 * `out` receives the new record (for the XDP program's copy). -1 for a local or L2 owner, or
 * an index out of range. One writer at a time. */
int su_view_set_next_hop(struct su_view *view, uint32_t owner, const uint8_t mac[6],
			 struct su_fwd *out);

/* su_core_route_owner as the XDP program decides (for explain() and tests): packets for the
 * kernel keep their fates (pass_local, decap_local unwrapped, pass_unmanaged, pass_unparsed)
 * instead of the worker lane's drop_local. */
enum su_route_counter su_core_route_as_xdp(const struct su_view *view, struct su_frag_table *frags,
					   uint8_t **data, uint32_t *len, uint32_t headroom,
					   uint32_t *owner);

/* A fragment table whose clock is `now` (nanoseconds, monotonic): tests pass their own. */
struct su_frag_table *su_frag_table_new_clock(uint32_t entries, uint64_t (*now)(void));

#ifdef __cplusplus
}
#endif

#endif /* SOFTUNICAST_CORE_H */
