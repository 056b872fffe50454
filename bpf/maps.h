/* The XDP program's maps, each declared once; included by bpf/steer.bpf.c. Native code finds them
 * by these names, so renaming one is an ABI change (softunicast/abi.h). */
#ifndef SU_BPF_MAPS_H
#define SU_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <softunicast/abi.h>

/* Key: u32 RX queue index. Value: u32 AF_XDP socket fd (the kernel keeps the socket).
 * Writer: the addon, when a socket is bound to a queue or closed. Reader: su_steer. */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, SU_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} su_xsks SEC(".maps");

/* Key: u32 rule index. Value: struct su_capture_rule; the list ends at the first family 0.
 * Writer: the addon, all slots at once from TypeScript's validated rules. Reader: su_steer. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SU_CAPTURE_RULES_MAX);
	__type(key, __u32);
	__type(value, struct su_capture_rule);
} su_capture_rules SEC(".maps");

/* Key: u32 enum su_steer_counter. Value: u64 per CPU.
 * Writer: su_steer. Reader: the addon, summed over CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SU_STEER_COUNTER_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} su_steer_counters SEC(".maps");

#endif /* SU_BPF_MAPS_H */
