/* What the packet path needs of the machine it runs on, for both targets of the one core: the
 * XDP program (clang -target bpf, bpf/steer.bpf.c) and the AF_XDP workers (native/router). The
 * rest of native/core is written against this: no libc, bounded loops, and every packet access
 * through su_at(), a bounds check in the one form the verifier accepts. Each target adds its
 * own half: bpf/target.h (maps, helpers), native/core/user.h (memory). */
#ifndef SU_CORE_TARGET_H
#define SU_CORE_TARGET_H

#include "softunicast/abi.h"
#include "softunicast/freestanding.h"

#if defined(__bpf__)
#define SU_TARGET_BPF 1
#endif

/* Everything on the packet path inlines into its stage: calls would cost the workers registers
 * and the verifier its knowledge of packet bounds. */
#define SU_INLINE static inline __attribute__((always_inline))

/* Keeps `x` in a register from here on: an index checked and then used must be checked in the
 * register it is used in. clang otherwise checks a zero-extended copy of a 32-bit value, and
 * the verifier learns no bound for the original (nothing to do in user space). */
#if defined(SU_TARGET_BPF)
#define SU_KEEP(x) asm volatile("" : "+r"(x))
#else
#define SU_KEEP(x) ((void)0)
#endif

/* Frames are at most a page: offsets within one stay below this, which bounds every offset the
 * parser derives, so that the verifier can check the access made with it. */
#define SU_OFF_MAX 0x3fff

#if defined(SU_TARGET_BPF)
struct xdp_md;
#endif

/* The packet: its first byte and one past its last. Moves when headers are pushed or pulled:
 * in the kernel through the XDP context's helpers, in the workers into the frame's headroom. */
struct su_buf {
	uint8_t *data;
	uint8_t *end;
#if defined(SU_TARGET_BPF)
	struct xdp_md *ctx;
#else
	uint32_t headroom; /* writable bytes before `data` */
#endif
};

/* The `n` bytes at `off`, or NULL when they do not all lie in the packet. The offset is checked
 * and masked both: clang may turn the comparison into a form the verifier learns no bound from,
 * and the mask, a no-op once the comparison holds, gives it one. */
SU_INLINE uint8_t *su_at(const struct su_buf *b, uint32_t off, uint32_t n)
{
	uint8_t *p;

	if (off > SU_OFF_MAX)
		return 0;
	p = b->data + (off & SU_OFF_MAX);
	if (p + n > b->end)
		return 0;
	return p;
}

SU_INLINE uint32_t su_len(const struct su_buf *b)
{
	/* The difference taken whole, then kept: clang would otherwise shift the end pointer to
	 * narrow it, and the verifier allows no arithmetic on the packet's end. */
	long n = b->end - b->data;

	SU_KEEP(n);
	return (uint32_t)n;
}

/* Big-endian fields, byte by byte: no alignment assumed, no byte-order header needed. */
SU_INLINE uint32_t su_get16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

SU_INLINE uint32_t su_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

SU_INLINE void su_put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Machine-order loads, for hashing and comparing words: both sides of a comparison load alike. */
SU_INLINE uint64_t su_load64(const uint8_t *p)
{
	uint64_t w;

	su_memcpy(&w, p, sizeof(w));
	return w;
}

SU_INLINE uint32_t su_load32(const uint8_t *p)
{
	uint32_t w;

	su_memcpy(&w, p, sizeof(w));
	return w;
}

SU_INLINE uint16_t su_load16(const uint8_t *p)
{
	uint16_t w;

	su_memcpy(&w, p, sizeof(w));
	return w;
}

/* A constant 16-bit value as it lies in memory in network order, to compare with su_load16. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SU_BE16(v) ((uint16_t)((((v) & 0xff) << 8) | (((v) >> 8) & 0xff)))
#else
#define SU_BE16(v) ((uint16_t)(v))
#endif

#endif /* SU_CORE_TARGET_H */
