/* The pps bench's traffic generator: run by bench/pps/gen.c with BPF_PROG_RUN and
 * BPF_F_TEST_XDP_LIVE_FRAMES, where XDP_TX becomes a redirect out of the ingress interface
 * (net/bpf/test_run.c): every run sends the test frame into the veth, at ~3.3 Mpps here (FACTS.md). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define GEN_HEAD 64 /* bytes restored per run: every header the device under test may rewrite */

struct gen_head {
	__u8 bytes[GEN_HEAD];
};

/* Key: 0. Value: the test frame's first GEN_HEAD bytes. Writer: gen.c, before each run. Reader:
 * pps_gen. Live frames are recycled pages whose bytes the kernel does not copy again (only the
 * pointers are reset): an XDP program on the far end that rewrites a frame in place (XDP_TX with
 * new headers) would otherwise send its own output back to itself. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gen_head);
} gen_head SEC(".maps");

SEC("xdp")
int pps_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 zero = 0;
	struct gen_head *head = bpf_map_lookup_elem(&gen_head, &zero);

	if (head && data + GEN_HEAD <= data_end)
		__builtin_memcpy(data, head->bytes, GEN_HEAD);
	return XDP_TX;
}
