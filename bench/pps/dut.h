/* State and helpers of the pps bench's device under test (bench/pps/dut.c): arguments and files
 * (dut_args.c) and the bare XDP_TX bounce's loader (dut_xdp.c). */
#ifndef SU_BENCH_DUT_H
#define SU_BENCH_DUT_H

#include <stddef.h>
#include <stdint.h>

#include "softunicast/router.h"
#include "softunicast/xsk_port.h"

/* DUT_XSK_BOUNCE: AF_XDP through our rings, a C handler swapping MACs (capture rules send every
 * packet to the socket). DUT_ROUTER: the router (native/router) on the real steer.bpf.o, in the
 * lane `mode` names. DUT_XDP_BOUNCE: a bare XDP program that swaps MACs and returns XDP_TX. */
enum dut_kind { DUT_XSK_BOUNCE, DUT_ROUTER, DUT_XDP_BOUNCE };

/* Files written by bench/pps/configs.ts from one compileTable: the table image, and the capture
 * rules of the bare AF_XDP bounce (compileCaptureRules). */
#define DUT_FILES(X) X(image) X(capture)
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
	enum dut_kind kind;
	uint32_t mode; /* SU_MODE_EXPRESS or SU_MODE_AFXDP, for DUT_ROUTER */
	struct su_port_config cfg;
	int cpu;            /* -1: not pinned */
	uint32_t tx_budget; /* XDP_MAX_TX_SKB_BUDGET; 0 leaves the kernel's default (32) */
	char tx_budget_result[64];
	const char *prog_path; /* the bare XDP_TX bounce's object */
	struct dut_file files[DUT_FILE_COUNT];

	struct su_port *port;
	struct su_router *router;
	struct bpf_object *xdp_obj;
	struct bpf_link *xdp_link;
};

/* 0, or prints the usage or the unreadable file and returns -EINVAL/-errno. */
int dut_parse_args(struct dut *d, int argc, char **argv);
/* Sets the copy-mode transmit budget on the port's sockets; the outcome in tx_budget_result. */
void dut_set_tx_budget(struct dut *d);
void dut_close(struct dut *d);

/* Loads the bare bounce (prog_path) and attaches it to cfg.ifname with a BPF link. */
int dut_xdp_start(struct dut *d, struct su_error *err);

void dut_print_counters(const char *group, const char *const *names, const uint64_t *values,
			unsigned int n);

#endif /* SU_BENCH_DUT_H */
