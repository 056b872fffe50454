/* Internet checksums (RFC 1071) over packet bytes in the XDP program: the kernel's half of the
 * core's su_csum_range (bpf/target.h), for verifying GUE's outer checksums before unwrapping and
 * for the UDP checksum of GUE over IPv6. Included by bpf/steer.bpf.c. */
#ifndef SU_BPF_CSUM_H
#define SU_BPF_CSUM_H

#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#include "../native/core/target.h"

/* bpf_csum_diff sums at most 512 bytes per call (the kernel's scratch area, MAX_BPF_STACK). */
#define SU_CSUM_CHUNK 512
/* Up to SU_OFF_MAX + 1 bytes (every offset the core uses): 32 chunks. */
#define SU_CSUM_CHUNKS_MAX 32
#define SU_CSUM_LEN_MAX (SU_CSUM_CHUNK * SU_CSUM_CHUNKS_MAX)

static __always_inline __u32 su_csum_fold(__u64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u32)((sum & 0xffff) + (sum >> 16));
}

/* What is left after the whole chunks (under 512 bytes), summed in power-of-two pieces, one
 * bpf_loop step per size (256 down to 4 bytes, taken when that bit of the length is set): at most
 * 7 helper calls, where a call per 4-byte word made a 64-byte frame's IPv6 UDP checksum cost ~20
 * calls (~500 ns) and a 1500-byte one's ~120. One step, verified once: inlined, the steps gave
 * the verifier 2^7 ways through after each of the 33 ways out of the chunk loop. */
struct su_csum_walk {
	struct xdp_md *ctx;
	__u32 off;  /* the next piece */
	__u32 left; /* bytes of pieces still to sum: a multiple of 4 below SU_CSUM_CHUNK */
	__s64 sum;  /* < 0: a piece was not in the packet */
};

/* bpf_csum_diff's size must be a constant the verifier can check against the packet's end. */
#define SU_CSUM_PIECE(size)                                                        \
	case (size):                                                               \
		if (p + (size) > data_end)                                         \
			goto outside;                                              \
		w->sum = bpf_csum_diff(NULL, 0, (__be32 *)p, (size), (__u32)w->sum); \
		break

static long su_csum_piece(__u64 i, void *c)
{
	struct su_csum_walk *w = c;
	void *data = (void *)(long)w->ctx->data;
	void *data_end = (void *)(long)w->ctx->data_end;
	__u32 size = (SU_CSUM_CHUNK / 2) >> (i & 7);
	void *p = data + (w->off & SU_OFF_MAX);

	if (!(w->left & size))
		return 0;
	switch (size) {
		SU_CSUM_PIECE(256);
		SU_CSUM_PIECE(128);
		SU_CSUM_PIECE(64);
		SU_CSUM_PIECE(32);
		SU_CSUM_PIECE(16);
		SU_CSUM_PIECE(8);
		SU_CSUM_PIECE(4);
	default:
		return 1;
	}
	w->off += size;
	w->left -= size;
	return w->sum < 0;
outside:
	w->sum = -1;
	return 1;
}

/* The folded ones' complement sum of `len` packet bytes from offset `off`, started from `seed`
 * (a pseudo-header's sum), or -1 when they do not lie in the packet. A result of 0xffff means a
 * valid checksum: the sum includes the checksum field.
 *
 * A global function, verified once on its own. It reads the packet and changes nothing, so the
 * caller's packet pointers stay valid. Every piece but the last is a multiple of 4 bytes, so
 * each bpf_csum_diff call starts on a 16-bit word of the summed range. (Defined in a header
 * because the object has one translation unit, steer.bpf.c.) */
__noinline int su_csum_packet(struct xdp_md *ctx, __u32 off, __u32 len, __u32 seed)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct su_csum_walk w = { .ctx = ctx, .sum = seed };
	__u32 done = 0;
	void *p;

	if (len > SU_CSUM_LEN_MAX)
		return -1;
	/* Masked, not compared: clang compares a zero-extended copy of a 32-bit argument, and the
	 * verifier learns no bound from that. Callers pass offsets below SU_OFF_MAX. */
	p = data + (off & SU_OFF_MAX);
	for (int i = 0; i < SU_CSUM_CHUNKS_MAX; i++) {
		if (len - done < SU_CSUM_CHUNK)
			break;
		if (p + SU_CSUM_CHUNK > data_end)
			return -1;
		w.sum = bpf_csum_diff(NULL, 0, (__be32 *)p, SU_CSUM_CHUNK, (__u32)w.sum);
		p += SU_CSUM_CHUNK;
		done += SU_CSUM_CHUNK;
	}
	w.off = off + done;
	w.left = (len - done) & ~3u;
	/* 256, 128, 64, 32, 16, 8, 4: the sizes a remainder below 512 is made of. */
	bpf_loop(7, su_csum_piece, &w, 0);
	if (w.sum < 0 || w.left)
		return -1;
	done = len - ((len - done) & 3);
	if (len - done) {
		/* The last one to three bytes, padded with zeros to a word as RFC 1071 pads an odd
		 * byte: copied to the stack, since bpf_csum_diff reads whole words. */
		__u32 word = 0;
		__u8 *tail = (__u8 *)&word;
		__u8 *b = data + ((off + done) & SU_OFF_MAX);

		if (b + 3 > (__u8 *)data_end) {
			if (b + 1 > (__u8 *)data_end)
				return -1;
			tail[0] = b[0];
			if (len - done >= 2) {
				if (b + 2 > (__u8 *)data_end)
					return -1;
				tail[1] = b[1];
			}
		} else {
			tail[0] = b[0];
			tail[1] = len - done >= 2 ? b[1] : 0;
			tail[2] = len - done == 3 ? b[2] : 0;
		}
		w.sum = bpf_csum_diff(NULL, 0, &word, sizeof(word), (__u32)w.sum);
	}
	/* bpf_csum_diff only fails for sizes that are not multiples of 4: none here. */
	if (w.sum < 0)
		return -1;
	return su_csum_fold((__u64)w.sum);
}

#endif /* SU_BPF_CSUM_H */
