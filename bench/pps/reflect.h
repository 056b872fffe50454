/* The pps bench's reflector (reflect.bpf.c) as its loader sees it (gen.c): the frame it restores
 * and its counters. Compiles for -target bpf and for the host. */
#ifndef SU_BENCH_REFLECT_H
#define SU_BENCH_REFLECT_H

#include <linux/types.h>

/* Bytes of the test frame restored on every pass: every header the device under test may write
 * (Ethernet, a VLAN-free IP header and UDP) and more. */
#define REFLECT_HEAD 64
/* The last two bytes of every test frame's payload: frames that end otherwise are not ours (a
 * neighbour solicitation of the device's kernel) and are passed, never reflected. */
#define REFLECT_MARK0 0x50
#define REFLECT_MARK1 0x53

/* Most heads a measurement can rotate through (a power of two): 4 MiB of map. */
#define REFLECT_HEADS_MAX 65536

#define REFLECT_DROP 0    /* count and drop: the loop drains */
#define REFLECT_BOUNCE 1  /* count, restore the test frame, send it back (XDP_TX) */

struct reflect_state {
	__u32 mode; /* REFLECT_* */
	__u32 len;  /* the test frame's length */
	/* 0: every pass restores `head`. Otherwise a power of two up to REFLECT_HEADS_MAX: each pass
	 * restores a random one of the first `heads` entries of reflect_heads, so that the device
	 * under test sees many destinations (its table touched widely, not one cache line). */
	__u32 heads;
	__u32 pad;
	__u8 head[REFLECT_HEAD];
};

/* One entry of reflect_heads: a frame's first REFLECT_HEAD bytes. */
struct reflect_head {
	__u8 bytes[REFLECT_HEAD];
};

#define REFLECT_COUNTERS(X)                                                          \
	X(packets, "every frame that came back from the device under test")          \
	X(bytes, "their bytes")                                                      \
	X(gue, "those that were UDP to port 6080 over IPv4 or IPv6: our GUE")        \
	X(reflected, "test frames restored and sent back: offered to the device")    \
	X(drained, "test frames dropped while draining: what was in flight")         \
	X(foreign, "frames that are not test frames: passed to the kernel")          \
	X(bad, "test frames the reflector could not restore: dropped")

enum reflect_counter {
#define REFLECT_X(name, doc) REFLECT_##name,
	REFLECT_COUNTERS(REFLECT_X)
#undef REFLECT_X
	REFLECT_COUNTER_COUNT
};

#endif /* SU_BENCH_REFLECT_H */
