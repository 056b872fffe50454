/* Maps of the pps bench's in-kernel reference (fwd.bpf.c), defined once for the program and for
 * bench/pps/dut.c, which fills them from a compiled table image. Compiles for -target bpf and
 * for the host. */
#ifndef SU_BENCH_FWD_H
#define SU_BENCH_FWD_H

#include <linux/types.h>

/* The reference's simplification of the slice lookup: one hash entry per (address, protocol,
 * 4096-port slice). Right for the bench tables (aligned 4096-port slices, bench/tables.ts), not
 * for slices of any other shape, which the real core (native/core/view.c) handles. */
#define FWD_SLICE_SHIFT 12

struct fwd_key {
	__u8 addr[4];  /* destination IPv4, network order */
	__u8 protocol; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad0;
	__u16 slice;   /* destination port >> FWD_SLICE_SHIFT */
};

/* kind: enum su_owner_kind (softunicast/table.h); endpoint and next hop as in struct su_owner. */
struct fwd_owner {
	__u8 kind;
	__u8 pad0;
	__u16 gue_port; /* network order */
	__u8 next_hop_mac[6];
	__u8 endpoint[4]; /* network order */
	__u8 pad1[2];
};

/* This host's side: outer source MAC and address, and the flow hash seed. */
struct fwd_host {
	__u8 mac[6];
	__u8 pad0[2];
	__u8 ipv4[4];
	__u32 seed;
};

#define FWD_COUNTERS(X)                                                        \
	X(tx, "encapsulated in GUE and sent back with XDP_TX")                  \
	X(pass_local, "a local slice: passed to the kernel")                    \
	X(pass_other, "not IPv4 TCP/UDP without tags: passed to the kernel")    \
	X(drop_no_owner, "no slice covers the destination")                     \
	X(drop_no_room, "bpf_xdp_adjust_head refused the room for the headers")

enum fwd_counter {
#define FWD_X(name, doc) FWD_##name,
	FWD_COUNTERS(FWD_X)
#undef FWD_X
	FWD_COUNTER_COUNT
};

#endif /* SU_BENCH_FWD_H */
