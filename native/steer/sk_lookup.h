/* The loader of bpf/sk_lookup.bpf.c: attaches it to a network namespace, publishes rule sets,
 * puts sockets in slots, reads counters and per-address load. Used by native/addon/sk_lookup_wrap.cc. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "softunicast/error.h"
#include "softunicast/sk_lookup.h"

#ifdef __cplusplus
extern "C" {
#endif

struct su_skl;

/* Loads the object at `obj_path` and attaches its program to the network namespace of
 * `netns_path` (a file such as /proc/self/ns/net or /run/netns/NAME) through a BPF link, with
 * an empty rule set; `count_load` false leaves the per-address count (skl_load) out. */
int su_skl_open(const char *obj_path, const char *netns_path, bool count_load,
		struct su_skl **out, struct su_error *err);
/* Builds a new rule trie from `n` (key, value) pairs and swaps it in with one map update; the
 * bpf() call returns after every program run that could read the old trie has ended. */
int su_skl_publish(struct su_skl *s, const struct su_skl_key *keys,
		   const struct su_skl_ranges *values, uint32_t n, struct su_error *err);
/* Puts the socket of `fd` (a listening TCP or a bound UDP socket) in `slot`. */
int su_skl_socket_set(struct su_skl *s, uint32_t slot, int fd, struct su_error *err);
/* Empties `slot`; an empty slot is no error (the kernel empties it when the socket closes). */
int su_skl_socket_clear(struct su_skl *s, uint32_t slot, struct su_error *err);
int su_skl_counters(struct su_skl *s, uint64_t out[SU_SKL_COUNTER_COUNT], struct su_error *err);
/* Copies up to `max` per-address counts; `*n` is how many were written. */
int su_skl_load(struct su_skl *s, struct su_skl_load_key *keys, uint64_t *counts, uint32_t max,
		uint32_t *n, struct su_error *err);
/* The loaded program's fd, for BPF_PROG_TEST_RUN in the benchmark. */
int su_skl_prog_fd(struct su_skl *s);
/* Detaches (the link goes) and frees everything. */
void su_skl_close(struct su_skl *s);

#ifdef __cplusplus
}
#endif
