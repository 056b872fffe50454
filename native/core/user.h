/* The workers' half of the one core's target layer (native/core/tables.h lists it): the table is
 * the view in memory (view_index.h), fragments a table per queue (frags.c), packet sums a plain loop,
 * and the frame grows into its headroom. Included by route.c and the tools that run the core in
 * user space (explain, tests, benchmarks), before the core's stages. */
#ifndef SU_CORE_USER_H
#define SU_CORE_USER_H

#include <time.h>

#include "checksum.h"
#include "frags.h"
#include "view_index.h"

SU_INLINE const struct su_meta *su_tbl_meta(su_tbl v)
{
	return v ? &v->meta : NULL;
}

SU_INLINE const struct su_key_ranges *su_tbl_key(su_tbl v, uint32_t meta, uint64_t w0, uint64_t w1,
						 int ipv4)
{
	return su_view_probe(v, meta, w0, w1, ipv4);
}

/* Indexes come from checked keys (view.c): always inside the range section. */
SU_INLINE const struct su_port_range *su_tbl_range(su_tbl v, uint32_t index)
{
	return &v->ranges[index];
}

SU_INLINE const struct su_flow_svc *su_tbl_flow_service(su_tbl v, const struct su_flow_key *k)
{
	return su_view_flow_find(v, k);
}

/* Indexes are a checked service's row_first plus a hash mod its rows: inside the rows. */
SU_INLINE const struct su_flow_row *su_tbl_flow_row(su_tbl v, uint32_t index)
{
	return &v->flow_rows[index];
}

SU_INLINE const struct su_fwd *su_tbl_fwd(su_tbl v, uint32_t owner)
{
	return owner < v->meta.owner_count ? &v->fwd[owner] : NULL;
}

SU_INLINE int su_tbl_trusted(su_tbl v, uint8_t family, const uint8_t *addr)
{
	return su_view_trusted(v, family, addr);
}

SU_INLINE int su_tbl_peer(su_tbl v, uint8_t family, const uint8_t *addr)
{
	return v->meta.peer_count && su_view_peer(v, family, addr);
}

/* Most tables have no L2 peer: then the frame's address is not even read (as in bpf/target.h). */
SU_INLINE int su_tbl_peer_mac(su_tbl v, const uint8_t *mac)
{
	return v->meta.mac_peer_count && su_meta_peer_mac(&v->meta, mac);
}

/* frags.c: the queue's table (NULL: none, every later piece unplaced). */
int su_frag_table_find(struct su_frag_table *t, const struct su_frag_key *k, uint64_t generation,
		       uint32_t *owner);
void su_frag_table_save(struct su_frag_table *t, const struct su_frag_key *k, uint64_t generation,
			uint32_t owner);

SU_INLINE int su_frag_find(su_frag_state f, const struct su_ip *p, uint64_t generation, uint32_t *owner)
{
	struct su_frag_key k;

	if (!f)
		return 0;
	su_frag_key_of(p, &k);
	return su_frag_table_find(f, &k, generation, owner);
}

SU_INLINE void su_frag_save(su_frag_state f, const struct su_ip *p, uint64_t generation, uint32_t owner)
{
	struct su_frag_key k;

	if (!f)
		return;
	su_frag_key_of(p, &k);
	su_frag_table_save(f, &k, generation, owner);
}

/* The sum of `len` packet bytes from `off`, started from `seed`, folded to 32 bits. Lengths come
 * from checked headers; bytes past the packet make the sum of what is there, which no correct
 * checksum matches. */
SU_INLINE uint32_t su_csum_range(const struct su_buf *b, uint32_t off, uint32_t len, uint32_t seed)
{
	uint32_t have = su_len(b);

	if (off > have)
		return seed;
	if (len > have - off)
		len = have - off;
	return su_csum_fold32(su_csum_add(seed, b->data + off, len));
}

/* The answers' token bucket: one per worker thread, as the XDP program keeps one per CPU. */
SU_INLINE struct su_icmp_tokens *su_icmp_tokens(void)
{
	static __thread struct su_icmp_tokens tokens;

	return &tokens;
}

SU_INLINE uint64_t su_now_ns(void)
{
	struct timespec ts;

	/* Coarse: the bucket refills by the millisecond; this one costs no syscall. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The frame starts `delta` bytes later (earlier when negative: into the headroom). */
SU_INLINE int su_move_head(struct su_buf *b, int32_t delta)
{
	if (delta < 0 && (uint32_t)-delta > b->headroom)
		return -1;
	if (delta > 0 && (uint32_t)delta > su_len(b))
		return -1;
	b->data += delta;
	b->headroom = (uint32_t)((int64_t)b->headroom + delta);
	return 0;
}

/* The frame is `len` bytes long: only shrinking happens (dropping padding and trailers). */
SU_INLINE int su_set_len(struct su_buf *b, uint32_t len)
{
	if (len > su_len(b))
		return -1;
	b->end = b->data + len;
	return 0;
}

#include "lookup.h"
#include "parse.h"

SU_INLINE void su_each_ext(struct su_ext_walk *w)
{
	for (int i = 0; i < SU_IPV6_EXT_MAX; i++)
		if (su_ext_step(w, &w->b))
			return;
}

/* The lengths of one family, `ipv4` a constant: the steps of an IPv4 lookup carry nothing of
 * IPv6's. The first length is looked at before the loop: most tables have one length per
 * family, and a hit there needs no loop (whose registers would be saved around it). */
SU_INLINE void su_each_len_as(struct su_lookup *s, const struct su_len *lens, uint32_t count,
			      uint32_t ipv4)
{
	if (count == 0 || su_lookup_step_as(s, &lens[0], ipv4))
		return;
	for (uint32_t i = 1; i < count; i++)
		if (su_lookup_step_as(s, &lens[i], ipv4))
			return;
}

/* The counts are view.c's, one per distinct prefix length: within the arrays by construction. */
SU_INLINE void su_each_len(struct su_lookup *s, const struct su_meta *m)
{
	if (s->ipv4)
		su_each_len_as(s, m->ipv4_lens, m->ipv4_len_count, 1);
	else
		su_each_len_as(s, m->ipv6_lens, m->ipv6_len_count, 0);
}

#endif /* SU_CORE_USER_H */
