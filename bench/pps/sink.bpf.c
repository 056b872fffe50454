/* The pps bench's counting sink: attached by bench/pps/gen.c to the generator's end of the veth,
 * it counts what the device under test sends back (all of it, and the GUE part) and drops it. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define SINK_PACKETS 0
#define SINK_BYTES 1
#define SINK_GUE 2 /* IPv4/UDP to port 6080, our encapsulation (softunicast/gue.h) */
#define SINK_COUNTERS 3

/* Key: SINK_*. Value: u64 per CPU. Writer: pps_sink. Reader: bench/pps/gen.c, summed over CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SINK_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} sink_counters SEC(".maps");

static __always_inline void count(__u32 key, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&sink_counters, &key);

	if (v)
		*v += n; /* per CPU, and XDP runs with migration disabled: no atomics */
}

SEC("xdp")
int pps_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);

	count(SINK_PACKETS, 1);
	count(SINK_BYTES, data_end - data);
	if ((void *)(udp + 1) <= data_end && eth->h_proto == bpf_htons(ETH_P_IP) &&
	    ip->ihl == 5 && ip->protocol == IPPROTO_UDP && udp->dest == bpf_htons(6080))
		count(SINK_GUE, 1);
	return XDP_DROP;
}
