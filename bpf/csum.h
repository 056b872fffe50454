/* Internet checksums (RFC 1071) over packet bytes for the XDP program: bpf/gue.h verifies the
 * outer IPv4 header and UDP checksums of GUE before it throws those headers away. */
#ifndef SU_BPF_CSUM_H
#define SU_BPF_CSUM_H

#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#include "parse.h"

/* bpf_csum_diff sums at most 512 bytes per call (the kernel's scratch area, MAX_BPF_STACK). */
#define SU_CSUM_CHUNK 512
/* A frame without XDP fragments lies in one page: 8 chunks cover any, with room to spare. */
#define SU_CSUM_CHUNKS_MAX 8
#define SU_CSUM_LEN_MAX (SU_CSUM_CHUNK * SU_CSUM_CHUNKS_MAX)

static __always_inline __u32 su_csum_fold(__u64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u32)((sum & 0xffff) + (sum >> 16));
}

/* Adds `n` bytes at `p`, when they lie in the packet, to the running sum. */
#define SU_CSUM_STEP(n)                                                               \
	do {                                                                          \
		if (len & (n)) {                                                      \
			if (p + (n) > data_end)                                       \
				return -1;                                            \
			sum = bpf_csum_diff(NULL, 0, (__be32 *)p, (n), (__u32)sum); \
			p += (n);                                                     \
		}                                                                     \
	} while (0)

/* The folded ones' complement sum of `len` packet bytes from offset `off`, started from `seed`
 * (a pseudo-header's sum), or -1 when they do not lie in the packet. A result of 0xffff means a
 * valid checksum: the sum includes the checksum field.
 *
 * A global function, verified once on its own: inlined, its 2^7 ways through the tail steps would
 * multiply the states of everything after its call site. It reads the packet and changes nothing,
 * so the caller's packet pointers stay valid. Every piece but the last is a multiple of 4 bytes,
 * so each bpf_csum_diff call starts on a 16-bit word of the summed range. (Defined in a header
 * because the object has one translation unit, steer.bpf.c.) */
__noinline int su_csum_packet(struct xdp_md *ctx, __u32 off, __u32 len, __u32 seed)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__s64 sum = seed;
	void *p;

	if (len > SU_CSUM_LEN_MAX)
		return -1;
	/* Masked, not compared (bpf/gue.h says why); callers pass offsets from the parser. */
	p = data + (off & SU_PARSE_OFF_MAX);
	for (int i = 0; i < SU_CSUM_CHUNKS_MAX; i++) {
		if (len < SU_CSUM_CHUNK)
			break;
		if (p + SU_CSUM_CHUNK > data_end)
			return -1;
		sum = bpf_csum_diff(NULL, 0, (__be32 *)p, SU_CSUM_CHUNK, (__u32)sum);
		p += SU_CSUM_CHUNK;
		len -= SU_CSUM_CHUNK;
	}
	if (len >= SU_CSUM_CHUNK)
		return -1;
	SU_CSUM_STEP(256);
	SU_CSUM_STEP(128);
	SU_CSUM_STEP(64);
	SU_CSUM_STEP(32);
	SU_CSUM_STEP(16);
	SU_CSUM_STEP(8);
	SU_CSUM_STEP(4);
	if (len & 3) {
		/* The last one to three bytes, padded with zeros to a word as RFC 1071 pads an odd
		 * byte: copied to the stack, since bpf_csum_diff reads whole words. */
		__u32 word = 0;
		__u8 *tail = (__u8 *)&word;
		__u8 *b = p;

		if (b + 1 > (__u8 *)data_end)
			return -1;
		tail[0] = b[0];
		if ((len & 3) >= 2) {
			if (b + 2 > (__u8 *)data_end)
				return -1;
			tail[1] = b[1];
		}
		if ((len & 3) == 3) {
			if (b + 3 > (__u8 *)data_end)
				return -1;
			tail[2] = b[2];
		}
		sum = bpf_csum_diff(NULL, 0, &word, sizeof(word), (__u32)sum);
	}
	/* bpf_csum_diff only fails for sizes that are not multiples of 4: none here. */
	if (sum < 0)
		return -1;
	return su_csum_fold((__u64)sum);
}
#undef SU_CSUM_STEP

/* The sum of a pseudo-header (or any small struct on the stack, a multiple of 4 bytes long). */
static __always_inline __u32 su_csum_stack(void *buf, __u32 size)
{
	__s64 sum = bpf_csum_diff(NULL, 0, (__be32 *)buf, size, 0);

	return sum < 0 ? 0 : (__u32)sum;
}

#endif /* SU_BPF_CSUM_H */
