/* The XDP program: the one core (native/core) in the kernel. With a router's table it decides
 * every packet as the workers would (route.h) and finishes in XDP what it can: the kernel's
 * packets passed (unwrapped from GUE first when they came in it), forwards sent back out with
 * XDP_TX (the express lane), drops dropped; what needs the workers goes to the AF_XDP socket of
 * the queue. Without a table, capture rules hand packets to the sockets (XdpPort with TypeScript
 * handlers). Loaded by the addon (native/xsk/bpf_prog.c); maps in bpf/maps.h. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "target.h"

#include "csum.h"
#include "match.h"
#include "../native/core/route.h"

/* The project is MIT; the object is dual-licensed so that the kernel grants it GPL-only helpers
 * (docs/deploying.md says which, and why it matters). */
char LICENSE[] SEC("license") = "Dual MIT/GPL";

static __always_inline void count_steer(__u32 counter)
{
	__u64 *value = bpf_map_lookup_elem(&su_steer_counters, &counter);

	/* Per-CPU slot and XDP runs with migration disabled: nobody else writes it, no atomics. */
	if (value)
		*value += 1;
}

/* The fate and, for an owner, its packets and bytes (bpf_map_lookup_elem on a per-CPU map
 * gives this CPU's slot). */
static __always_inline void count_fate(__u32 bank, __u32 fate, __u32 owner, __u32 bytes)
{
	__u64 *value = bpf_map_lookup_elem(&su_route_counters, &fate);
	struct su_owner_stats *s;
	void *stats;

	if (value)
		*value += 1;
	if (owner == SU_OWNER_NONE)
		return;
	stats = bpf_map_lookup_elem(&su_owner_stats, &bank);
	s = stats ? bpf_map_lookup_elem(stats, &owner) : 0;
	if (!s)
		return;
	/* A 64-bit index, checked in the register it is used in: a 32-bit one is checked by clang
	 * in a zero-extended copy, and the verifier learns no bound for the original. */
	{
		__u64 at = (__u64)(fate & 0xff) * 2;

		asm volatile("" : "+r"(at));
		if (at > SU_OWNER_STATS - 2)
			return;
		s->v[at + SU_OWNER_STAT_PACKETS] += 1;
		s->v[at + SU_OWNER_STAT_BYTES] += bytes;
	}
}

/* Hands the packet to the queue's AF_XDP socket. bpf_redirect_map falls back to the flags'
 * action by itself when the slot is empty; the lookup is there to count that case. A router's
 * packets never fall back to the kernel: the kernel of a host that does not own a slice must
 * not answer for it. */
static __always_inline int redirect(__u32 queue, int fallback)
{
	if (!bpf_map_lookup_elem(&su_xsks, &queue)) {
		count_steer(fallback == XDP_PASS ? SU_STEER_pass_no_socket : SU_STEER_drop_no_socket);
		return fallback;
	}
	count_steer(SU_STEER_redirected);
	return bpf_redirect_map(&su_xsks, queue, fallback);
}

/* The stages below are global functions, each verified once on its own: inlined, every way
 * through one multiplies the states the verifier walks through the next. They get the context
 * and stack memory (checked for NULL, as the verifier demands) and give back a number. */

/* Parses the frame into *ip (native/core/parse.h). */
__noinline int su_stage_parse(struct xdp_md *ctx, struct su_ip *ip)
{
	struct su_buf b = { .ctx = ctx };

	if (!ctx || !ip)
		return SU_ROUTE_pass_unparsed;
	su_buf_reload(&b);
	return su_parse_frame(&b, ip);
}

/* Checks and unwraps GUE for this host (native/core/gue.h): *outer parsed, *inner filled. */
__noinline int su_stage_gue(struct xdp_md *ctx, __u32 bank, const struct su_ip *outer,
			    struct su_ip *inner)
{
	struct su_buf b = { .ctx = ctx };

	if (!ctx || !outer || !inner)
		return SU_ROUTE_drop_malformed;
	su_buf_reload(&b);
	return su_gue_unwrap(bank & 1, &b, outer, inner);
}

/* Key kind `kind`'s lookup of *pkt into *out (native/core/route.h, su_kind_lookup), under the
 * table of `bank`. A stage of its own: the kinds' loop (su_lookup_kinds) calls it once a turn. */
__noinline int su_stage_key_kind(__u32 bank, __u32 kind, const struct su_ip *pkt, __u32 mode,
				 struct su_found *out)
{
	const struct su_meta *m = su_tbl_meta(bank & 1);

	if (!pkt || !out || !m)
		return -1;
	su_kind_lookup(bank & 1, m, kind, pkt, mode, out);
	return 0;
}

/* The flow-hash kind's lookup (native/core/flow_hash_kind.h) of *pkt into *out: a stage of its
 * own, so that its frame is not added to su_stage_key_kind's on the way to su_len_cb. */
__noinline int su_stage_flow_find(__u32 bank, const struct su_ip *pkt, __u32 mode,
				  struct su_found *out)
{
	const struct su_meta *m = su_tbl_meta(bank & 1);

	if (!pkt || !out || !m)
		return -1;
	su_flow_hash_find(bank & 1, m, pkt, mode, out);
	return 0;
}

/* The address-slice kind's lookup (native/core/addr_slice_kind.h): a stage of its own, like the
 * flow-hash one (its hash state and the services' loop stay out of su_stage_key_kind's frame). */
__noinline int su_stage_addr_find(__u32 bank, const struct su_ip *pkt, __u32 mode,
				  struct su_found *out)
{
	const struct su_meta *m = su_tbl_meta(bank & 1);

	if (!pkt || !out || !m)
		return -1;
	su_addr_slice_find(bank & 1, m, pkt, mode, out);
	return 0;
}

SU_INLINE void su_stage_addr_slice(su_tbl t, const struct su_meta *m, const struct su_ip *pkt,
				   uint32_t mode, struct su_found *out)
{
	(void)m;
	su_stage_addr_find(t, pkt, mode, out);
}

SU_INLINE void su_stage_flow_hash(su_tbl t, const struct su_meta *m, const struct su_ip *pkt,
				  uint32_t mode, struct su_found *out)
{
	(void)m;
	su_stage_flow_find(t, pkt, mode, out);
}

SU_INLINE void su_stage_kind(su_tbl t, const struct su_meta *m, uint32_t kind,
			     const struct su_ip *pkt, uint32_t mode, struct su_found *out)
{
	(void)m;
	su_stage_key_kind(t, kind, pkt, mode, out);
}

/* The owner of *pkt (native/core/route.h, su_owner_of), or -1 (SU_OWNER_NONE) with the fate of
 * the miss in *miss; the hop of a 'glb' owner's list (a flow-hash row's secondary) in *hop. */
__noinline int su_stage_owner(__u32 bank, const struct su_ip *pkt, __u32 decap, __u32 *hop,
			      __u32 *miss)
{
	const struct su_meta *m = su_tbl_meta(bank & 1);
	enum su_route_counter fate = SU_ROUTE_drop_no_table;
	__u32 owner;

	if (!pkt || !miss || !hop)
		return -1;
	*hop = 0;
	if (!m) {
		*miss = fate;
		return -1;
	}
	owner = su_owner_of(bank & 1, 0, m, pkt, (int)decap, hop, &fate);
	*miss = fate;
	return (int)owner;
}

SU_INLINE uint32_t su_stage_owner_of(su_tbl t, su_frag_state f, const struct su_ip *pkt, int decap,
				     uint32_t *hop, enum su_route_counter *miss)
{
	__u32 m = SU_ROUTE_drop_no_owner;
	/* `hop` is in the caller's verdict (su_steer's frame): no slot of this frame. */
	uint32_t owner = (uint32_t)su_stage_owner(t, pkt, (__u32)decap, hop, &m);

	(void)f;
	*miss = (enum su_route_counter)m;
	return owner;
}

SU_INLINE enum su_route_counter su_stage_parse_frame(const struct su_buf *b, struct su_ip *out)
{
	return (enum su_route_counter)su_stage_parse(b->ctx, out);
}

SU_INLINE enum su_route_counter su_stage_unwrap(su_tbl t, const struct su_buf *b,
						const struct su_ip *outer, struct su_ip *inner)
{
	return (enum su_route_counter)su_stage_gue(b->ctx, t, outer, inner);
}

/* The packet's fate under table `bank` (route.h, su_route_decide). */
__noinline int su_stage_decide(struct xdp_md *ctx, __u32 bank, struct su_ip *outer,
			       struct su_ip *inner, struct su_verdict *v)
{
	struct su_buf b = { .ctx = ctx };

	if (!ctx || !outer || !inner || !v)
		return SU_ROUTE_drop_malformed;
	su_buf_reload(&b);
	return su_route_decide(bank & 1, 0, &b, outer, inner, v);
}

/* Carries the verdict (its fate in v->fate) out on the packet (route.h, su_route_apply); the
 * resulting fate. */
__noinline int su_stage_apply(struct xdp_md *ctx, __u32 bank, const struct su_ip *outer,
			      const struct su_ip *inner, const struct su_verdict *v)
{
	struct su_buf b = { .ctx = ctx };

	if (!ctx || !outer || !inner || !v)
		return SU_ROUTE_drop_malformed;
	su_buf_reload(&b);
	return su_route_apply(bank & 1, &b, outer, inner, v, (enum su_route_counter)v->fate);
}

/* The generation capture mode remembers first fragments under: no table's (TypeScript's
 * generations stay below 2^53), so a router's fragment state never mixes with it. */
#define SU_CAPTURE_GENERATION (~0ULL)

/* A port without a table: the capture rules decide. A later piece of a datagram carries no
 * ports; it goes where its first went (captured first pieces are remembered), so a handler
 * gets the whole datagram and the kernel none of it. */
static __always_inline int capture_mode(struct xdp_md *ctx, __u32 bank, __u32 queue)
{
	struct su_ip ip;
	__u32 owner;

	if (su_stage_parse(ctx, &ip) != SU_PARSE_OK)
		goto unmatched;
	if (ip.fragment == SU_FRAGMENT_LATER) {
		if (!su_frag_find(0, &ip, SU_CAPTURE_GENERATION, &owner))
			goto unmatched;
	} else if (!su_captured(bank, &ip)) {
		goto unmatched;
	} else if (ip.fragment == SU_FRAGMENT_FIRST) {
		su_frag_save(0, &ip, SU_CAPTURE_GENERATION, 0);
	}
	return redirect(queue, XDP_PASS);
unmatched:
	count_steer(SU_STEER_pass_unmatched);
	return XDP_PASS;
}

static __always_inline __u32 frame_len(struct xdp_md *ctx)
{
	return (__u32)(ctx->data_end - ctx->data);
}

SEC("xdp")
int su_steer(struct xdp_md *ctx)
{
	/* A helper's key must be on the stack (or in a map), not in the context. */
	__u32 queue = ctx->rx_queue_index, zero = 0, bank, received = frame_len(ctx);
	const struct su_control *c = bpf_map_lookup_elem(&su_control, &zero);
	struct su_ip outer, inner;
	struct su_verdict v;
	int fate;

	count_steer(SU_STEER_packets);
	if (!c || c->mode == SU_MODE_CAPTURE)
		return capture_mode(ctx, c ? c->bank : 0, queue);
	bank = c->bank & 1;
	fate = su_stage_decide(ctx, bank, &outer, &inner, &v);
	v.fate = (__u8)fate;
	if (fate == SU_ROUTE_decap_local)
		fate = su_stage_apply(ctx, bank, &outer, &inner, &v);
	if (SU_ROUTE_PASSES(fate) || fate == SU_ROUTE_decap_local) {
		count_fate(bank, (__u32)fate, v.owner, received);
		return XDP_PASS;
	}
	/* The workers finish what this lane leaves them: everything in the AF_XDP lane, and the
	 * drops while a drop capture runs (they write them down). */
	if (c->mode == SU_MODE_AFXDP || (!SU_ROUTE_TRANSMITS(fate) && c->capture_drops))
		return redirect(queue, XDP_DROP);
	if (SU_ROUTE_TRANSMITS(fate))
		fate = su_stage_apply(ctx, bank, &outer, &inner, &v);
	if (!SU_ROUTE_TRANSMITS(fate)) {
		count_fate(bank, (__u32)fate, v.owner, received);
		return XDP_DROP;
	}
	count_fate(bank, (__u32)fate, v.owner, frame_len(ctx));
	return XDP_TX;
}
