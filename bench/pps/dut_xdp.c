/* The pps bench's bare XDP_TX bounce (xdp_bounce.bpf.c): loaded and attached in driver mode
 * with a BPF link, so that the kernel detaches it when the process dies (FACTS.md). */
#include <errno.h>
#include <net/if.h>
#include <bpf/libbpf.h>

#include "dut.h"

int dut_xdp_start(struct dut *d, struct su_error *err)
{
	int ifindex = (int)if_nametoindex(d->cfg.ifname);
	struct bpf_program *prog;

	if (!ifindex)
		return su_error_set(err, "ERR_INTERFACE_NOT_FOUND", errno, "if_nametoindex",
				    "No interface '%s'", d->cfg.ifname);
	d->xdp_obj = bpf_object__open_file(d->prog_path, NULL);
	if (!d->xdp_obj || bpf_object__load(d->xdp_obj))
		return su_error_set(err, "ERR_BPF_LOAD", errno, "bpf", "Could not load %s",
				    d->prog_path);
	prog = bpf_object__find_program_by_name(d->xdp_obj, "pps_xdp_bounce");
	if (!prog)
		return su_error_set(err, "ERR_BPF_LOAD", ENOENT, NULL,
				    "Expected a program pps_xdp_bounce in %s", d->prog_path);
	d->xdp_link = bpf_program__attach_xdp(prog, ifindex);
	if (!d->xdp_link)
		return su_error_set(err, "ERR_SYSCALL", errno, "bpf_link_create",
				    "Could not attach %s to '%s'", d->prog_path, d->cfg.ifname);
	return 0;
}
