/* State and helpers of the pps bench's device under test (bench/pps/dut.c): arguments and files
 * (dut_args.c) and the in-kernel reference's loader (dut_kernel.c). */
#ifndef SU_BENCH_DUT_H
#define SU_BENCH_DUT_H

#include <stddef.h>
#include <stdint.h>

#include "softunicast/router.h"
#include "softunicast/xsk_port.h"

enum dut_mode { DUT_BOUNCE, DUT_ROUTER, DUT_KERNEL };

/* Files written by bench/pps/run.ts from one compileTable: the image, the XDP program's local
 * view (struct su_host, su_capture_rule[], su_prefix[]) and the capture rules. */
#define DUT_FILES(X) X(image) X(host) X(local) X(trusted) X(capture)
enum dut_file_kind {
#define DUT_X(name) DUT_FILE_##name,
	DUT_FILES(DUT_X)
#undef DUT_X
	DUT_FILE_COUNT
};

struct dut_file {
	void *data;
	size_t size;
};

struct bpf_object;
struct bpf_link;

struct dut {
	enum dut_mode mode;
	struct su_port_config cfg;
	int cpu;            /* -1: not pinned */
	uint32_t tx_budget; /* XDP_MAX_TX_SKB_BUDGET; 0 leaves the kernel's default (32) */
	char tx_budget_result[64];
	const char *fwd_path;
	struct dut_file files[DUT_FILE_COUNT];

	struct su_port *port;
	struct su_router *router;
	struct bpf_object *fwd_obj;
	struct bpf_link *fwd_link;
};

/* 0, or prints the usage or the unreadable file and returns -EINVAL/-errno. */
int dut_parse_args(struct dut *d, int argc, char **argv);
/* Sets the copy-mode transmit budget on the port's sockets; the outcome in tx_budget_result. */
void dut_set_tx_budget(struct dut *d);
void dut_close(struct dut *d);

int dut_kernel_start(struct dut *d, struct su_error *err);
void dut_kernel_stats(struct dut *d);

void dut_print_counters(const char *group, const char *const *names, const uint64_t *values,
			unsigned int n);

#endif /* SU_BENCH_DUT_H */
