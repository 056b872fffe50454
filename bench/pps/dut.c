/* The pps bench's device under test, one process in its own namespace (driven by bench/pps/run.ts
 * over stdin/stdout, one JSON line per command):
 *   pps_dut xdp-bounce IFNAME prog=PATH    a bare XDP program swapping MACs, XDP_TX: the kernel's
 *                                          floor, the express lane's baseline
 *   pps_dut router IFNAME lane=express ... the router (native/router) on the real steer.bpf.o,
 *                                          its XDP program finishing the packets (express lane)
 *   pps_dut router IFNAME lane=afxdp ...   the same router, its AF_XDP workers forwarding
 *   pps_dut xsk-bounce IFNAME ...          AF_XDP through our own rings, a C handler swapping
 *                                          MACs: the AF_XDP lane's baseline
 * Keys: steer= prog= (BPF objects), image= capture= (files written by configs.ts from one
 * compileTable), lane=, batch= ring= frames= wakeup=0|1 busy=0|1 budget= cpu=.
 * Commands: `stats` prints every counter; `quit` (or end of input) closes and exits. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "softunicast/router.h"
#include "dut.h"
#include "mac_swap.h"

static const char *queue_names[] = {
#define SU_X(name, doc) #name,
	SU_QUEUE_COUNTERS(SU_X)
#undef SU_X
};
static const char *kernel_names[] = {
#define SU_X(name, doc) #name,
	SU_KERNEL_XDP_STATS(SU_X)
#undef SU_X
};
static const char *steer_names[] = {
#define SU_X(name, doc) #name,
	SU_STEER_COUNTERS(SU_X)
#undef SU_X
};
static const char *fate_names[] = {
#define SU_X(name, doc) #name,
	SU_ROUTE_COUNTERS(SU_X)
#undef SU_X
};

void dut_print_counters(const char *group, const char *const *names, const uint64_t *values,
			unsigned int n)
{
	printf("\"%s\":{", group);
	for (unsigned int i = 0; i < n; i++)
		printf("%s\"%s\":%llu", i ? "," : "", names[i], (unsigned long long)values[i]);
	printf("}");
}

static void bounce(void *ctx, struct su_queue *queue, struct su_desc *descs, uint32_t n)
{
	(void)queue;
	su_swap_macs_and_transmit(ctx, descs, n);
}

static int start_port(struct dut *d, struct su_error *err)
{
	const struct dut_file *f = d->files;
	struct su_view *view;
	int ret;

	ret = su_port_open(&d->cfg, &d->port, err);
	if (ret)
		return ret;
	if (d->tx_budget)
		dut_set_tx_budget(d);
	if (d->kind == DUT_XSK_BOUNCE) {
		uint64_t size;

		ret = su_port_set_capture(d->port, f[DUT_FILE_capture].data,
					  (uint32_t)(f[DUT_FILE_capture].size /
						     sizeof(struct su_capture_rule)),
					  err);
		if (ret)
			return ret;
		su_queue_set_handler(su_port_queue(d->port, 0), bounce, su_port_umem(d->port, &size));
		return su_port_start(d->port, err);
	}
	/* As Router.open does: the router on the port, its lane, the table published to both. */
	if ((ret = su_router_create(d->port, &d->router, err)) ||
	    (ret = su_router_set_mode(d->router, d->mode, err)) ||
	    (ret = su_view_build(f[DUT_FILE_image].data, f[DUT_FILE_image].size, &view, err)) ||
	    (ret = su_router_publish(d->router, view, err)))
		return ret;
	return su_port_start(d->port, err);
}

static void print_stats(struct dut *d)
{
	uint64_t v[64];
	struct su_error err;

	printf("{");
	if (d->kind != DUT_XDP_BOUNCE) {
		struct su_queue *q = su_port_queue(d->port, 0);

		su_queue_counters(q, v);
		dut_print_counters("queue", queue_names, v, SU_QUEUE_COUNTER_COUNT);
		printf(",");
		if (su_queue_kernel_stats(q, v, &err))
			memset(v, 0, 6 * sizeof(v[0]));
		dut_print_counters("kernel", kernel_names, v, 6);
		printf(",");
		if (su_port_steer_counters(d->port, v, &err))
			memset(v, 0, SU_STEER_COUNTER_COUNT * sizeof(v[0]));
		dut_print_counters("steer", steer_names, v, SU_STEER_COUNTER_COUNT);
		if (d->router) {
			su_router_counters(d->router, 0, v);
			printf(",");
			dut_print_counters("fates", fate_names, v, SU_ROUTE_COUNTER_COUNT);
			if (su_router_xdp_counters(d->router, v, &err))
				memset(v, 0, SU_ROUTE_COUNTER_COUNT * sizeof(v[0]));
			printf(",");
			dut_print_counters("xdp", fate_names, v, SU_ROUTE_COUNTER_COUNT);
		}
	}
	printf("}\n");
}

int main(int argc, char **argv)
{
	struct su_error err = { 0 };
	struct dut d;
	char line[256];
	int ret;

	ret = dut_parse_args(&d, argc, argv);
	if (ret)
		return 2;
	if (d.cpu >= 0) {
		cpu_set_t cpus;

		/* Before any thread starts: the workers inherit it. */
		CPU_ZERO(&cpus);
		CPU_SET(d.cpu, &cpus);
		if (sched_setaffinity(0, sizeof(cpus), &cpus))
			perror("pps_dut: sched_setaffinity (running unpinned)");
	}
	ret = d.kind == DUT_XDP_BOUNCE ? dut_xdp_start(&d, &err) : start_port(&d, &err);
	if (ret) {
		fprintf(stderr, "pps_dut: %s (%s)\n", err.message, err.code);
		dut_close(&d);
		return 1;
	}
	printf("{\"ready\":true,\"tx_budget\":\"%s\"}\n", d.tx_budget_result);
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		if (!strncmp(line, "stats", 5))
			print_stats(&d);
		else if (!strncmp(line, "quit", 4))
			break;
		else
			printf("{\"error\":\"unknown command\"}\n");
		fflush(stdout);
	}
	dut_close(&d);
	return 0;
}
