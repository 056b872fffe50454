/* The frame half of the XDP programs' target layer, shared by every XDP program of ours that
 * runs the one core's parser (bpf/steer.bpf.c through bpf/target.h, bpf/backend.bpf.c): the
 * packet bounds read anew from the context, the head and tail moved with bpf_xdp_adjust_head/
 * tail, and the IPv6 extension walk as a bpf_loop. Written once so that no program carries its
 * own copy; it declares no map, so a program includes it without the steer program's maps. */
#ifndef SU_BPF_FRAME_H
#define SU_BPF_FRAME_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "../native/core/target.h"

SU_INLINE void su_buf_reload(struct su_buf *b)
{
	b->data = (uint8_t *)(long)b->ctx->data;
	b->end = (uint8_t *)(long)b->ctx->data_end;
}

SU_INLINE int su_move_head(struct su_buf *b, int32_t delta)
{
	if (delta && bpf_xdp_adjust_head(b->ctx, delta))
		return -1;
	su_buf_reload(b);
	return 0;
}

SU_INLINE int su_set_len(struct su_buf *b, uint32_t len)
{
	int32_t delta = (int32_t)len - (int32_t)su_len(b);

	if (delta > 0)
		return -1;
	if (delta && bpf_xdp_adjust_tail(b->ctx, delta))
		return -1;
	su_buf_reload(b);
	return 0;
}

#include "../native/core/parse.h"

/* bpf_loop's callback: one IPv6 extension header. The packet is read anew through the context:
 * packet pointers the caller left in the walk would reach the callback as plain numbers. */
static long su_ext_cb(__u64 i, void *ctx)
{
	struct su_ext_walk *w = ctx;
	struct su_buf b = { .ctx = w->b.ctx };

	(void)i;
	su_buf_reload(&b);
	return su_ext_step(w, &b);
}

SU_INLINE void su_each_ext(struct su_ext_walk *w)
{
	bpf_loop(SU_IPV6_EXT_MAX, su_ext_cb, w, 0);
}

#endif /* SU_BPF_FRAME_H */
