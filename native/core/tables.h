/* The core's handle on a compiled table (layouts: softunicast/tables.h) and the functions each
 * target defines to reach it: the workers' view in memory (native/core/user.h), the XDP
 * program's maps (bpf/target.h). */
#ifndef SU_CORE_TABLES_H
#define SU_CORE_TABLES_H

#include "target.h"

/* Whether `mac` is one of the L2 peers': a few, scanned (both targets). */
SU_INLINE int su_meta_peer_mac(const struct su_meta *m, const uint8_t *mac)
{
	uint32_t hi = su_load32(mac);
	uint16_t lo = su_load16(mac + 4);

	for (uint32_t i = 0; i < SU_MAC_PEERS_MAX && i < m->mac_peer_count; i++)
		if (su_load32(m->macs[i]) == hi && su_load16(m->macs[i] + 4) == lo)
			return 1;
	return 0;
}

/* The per-target half. `su_tbl` is the handle the core passes around: the workers' view, or
 * the XDP program's live bank; `su_frag_state` the fragment memory. The target defines, before
 * including the core's stages:
 *   const struct su_meta *su_tbl_meta(su_tbl)
 *   const struct su_key_ranges *su_tbl_key(su_tbl, meta, w0, w1, ipv4)
 *   const struct su_port_range *su_tbl_range(su_tbl, index)
 *   const struct su_flow_svc *su_tbl_flow_service(su_tbl, const struct su_flow_key *)
 *   const struct su_flow_row *su_tbl_flow_row(su_tbl, index)
 *   const struct su_fwd *su_tbl_fwd(su_tbl, owner)
 *   int su_tbl_trusted(su_tbl, family, addr), su_tbl_peer(su_tbl, family, addr),
 *       su_tbl_peer_mac(su_tbl, mac)
 *   int su_frag_find(su_frag_state, ip, generation, *owner), void su_frag_save(...)
 *   uint32_t su_csum_range(buf, off, len, seed)
 *   int su_move_head(buf, delta), int su_set_len(buf, len)
 *   struct su_icmp_tokens *su_icmp_tokens(void), uint64_t su_now_ns(void)
 * each returning NULL (or 0, or -1) for what the table or packet does not hold. */
#if defined(SU_TARGET_BPF)
typedef uint32_t su_tbl;
typedef uint32_t su_frag_state; /* unused: one LRU map for all CPUs */
#else
struct su_view;
struct su_frag_table;
typedef const struct su_view *su_tbl;
typedef struct su_frag_table *su_frag_state; /* NULL: no fragment memory (later pieces dropped) */
#endif

/* Answers per second and the burst a CPU (a worker) may send (native/core/icmp.h): an attacker
 * with big packets cannot turn the router into an ICMP source beyond this; the rest count
 * drop_too_big. */
#define SU_ICMP_PER_SECOND 1000
#define SU_ICMP_BURST 100

struct su_icmp_tokens {
	uint64_t last_ns; /* when `tokens` was last topped up */
	uint32_t tokens;
	uint32_t pad0;
};

#endif /* SU_CORE_TABLES_H */
