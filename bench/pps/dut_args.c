/* Arguments, input files, the transmit budget knob and teardown of the pps bench's device under
 * test (dut.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/if_xdp.h>
#include <bpf/libbpf.h>

#include "dut.h"

/* <linux/if_xdp.h> of Linux 6.17+ (XDP_MAX_TX_SKB_BUDGET, range 32 .. TX ring size); Debian 12's
 * headers predate it. */
#ifndef XDP_MAX_TX_SKB_BUDGET
#define XDP_MAX_TX_SKB_BUDGET 9
#endif

static const char *file_keys[] = {
#define DUT_X(name) #name,
	DUT_FILES(DUT_X)
#undef DUT_X
};

static int read_file(const char *path, struct dut_file *f)
{
	FILE *in = fopen(path, "rb");
	long size;

	if (!in)
		return -errno;
	if (fseek(in, 0, SEEK_END) || (size = ftell(in)) < 0 || fseek(in, 0, SEEK_SET)) {
		fclose(in);
		return -EIO;
	}
	f->data = malloc(size ? (size_t)size : 1);
	f->size = f->data ? fread(f->data, 1, (size_t)size, in) : 0;
	fclose(in);
	if (!f->data || f->size != (size_t)size)
		return -EIO;
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: pps_dut xsk-bounce IFNAME steer=PATH capture=FILE [knobs]\n"
			"       pps_dut router IFNAME steer=PATH image=FILE lane=express|afxdp [knobs]\n"
			"       pps_dut xdp-bounce IFNAME prog=PATH [cpu=N]\n"
			"knobs: batch=N ring=N frames=N wakeup=0|1 busy=0|1 budget=N cpu=N\n");
	return -EINVAL;
}

static int set_key(struct dut *d, const char *key, const char *value)
{
	struct su_port_config *c = &d->cfg;
	uint32_t n = (uint32_t)strtoul(value, NULL, 10);

	for (int i = 0; i < DUT_FILE_COUNT; i++) {
		if (!strcmp(key, file_keys[i])) {
			int ret = read_file(value, &d->files[i]);

			if (ret)
				fprintf(stderr, "pps_dut: %s: %s\n", value, strerror(-ret));
			return ret;
		}
	}
	if (!strcmp(key, "steer"))
		c->bpf_object_path = value;
	else if (!strcmp(key, "prog"))
		d->prog_path = value;
	else if (!strcmp(key, "lane") && (!strcmp(value, "express") || !strcmp(value, "afxdp")))
		d->mode = !strcmp(value, "express") ? SU_MODE_EXPRESS : SU_MODE_AFXDP;
	else if (!strcmp(key, "batch"))
		c->batch_size = n;
	else if (!strcmp(key, "ring"))
		c->rx_size = c->tx_size = c->fill_size = c->completion_size = n;
	else if (!strcmp(key, "frames"))
		c->frame_count = n;
	else if (!strcmp(key, "wakeup"))
		c->need_wakeup = n != 0;
	else if (!strcmp(key, "busy"))
		c->busy_poll = n != 0;
	else if (!strcmp(key, "budget"))
		d->tx_budget = n;
	else if (!strcmp(key, "cpu"))
		d->cpu = atoi(value);
	else
		return usage();
	return 0;
}

int dut_parse_args(struct dut *d, int argc, char **argv)
{
	memset(d, 0, sizeof(*d));
	d->cpu = -1;
	snprintf(d->tx_budget_result, sizeof(d->tx_budget_result), "default (32)");
	/* XdpPort's defaults (src/xdp/options.ts), in copy mode: veth has no zero-copy. */
	d->cfg = (struct su_port_config){
		.queue_count = 1,
		.frame_size = 4096,
		.frame_count = 4096,
		.rx_size = 2048,
		.tx_size = 2048,
		.fill_size = 2048,
		.completion_size = 2048,
		.batch_size = 64,
		.bind = SU_BIND_COPY,
		.attach = SU_ATTACH_DRIVER,
		.need_wakeup = true,
	};
	if (argc < 3)
		return usage();
	if (!strcmp(argv[1], "xsk-bounce"))
		d->kind = DUT_XSK_BOUNCE;
	else if (!strcmp(argv[1], "router"))
		d->kind = DUT_ROUTER;
	else if (!strcmp(argv[1], "xdp-bounce"))
		d->kind = DUT_XDP_BOUNCE;
	else
		return usage();
	d->cfg.ifname = argv[2];
	for (int i = 3; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		int ret;

		if (!eq)
			return usage();
		*eq = '\0';
		ret = set_key(d, argv[i], eq + 1);
		if (ret)
			return ret;
	}
	switch (d->kind) {
	case DUT_XSK_BOUNCE:
		return d->cfg.bpf_object_path && d->files[DUT_FILE_capture].data ? 0 : usage();
	case DUT_ROUTER:
		return d->cfg.bpf_object_path && d->files[DUT_FILE_image].data && d->mode ? 0
											   : usage();
	case DUT_XDP_BOUNCE:
		return d->prog_path ? 0 : usage();
	}
	return usage();
}

void dut_set_tx_budget(struct dut *d)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;
	int applied = 0, failed = 0;

	/* The port keeps its sockets private: find them as the descriptors that answer SOL_XDP. */
	while (dir && (e = readdir(dir))) {
		struct xdp_options opts;
		socklen_t len = sizeof(opts);
		int fd = atoi(e->d_name);

		if (e->d_name[0] == '.' || getsockopt(fd, SOL_XDP, XDP_OPTIONS, &opts, &len))
			continue;
		if (setsockopt(fd, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, &d->tx_budget, sizeof(d->tx_budget)))
			failed = errno;
		else
			applied++;
	}
	if (dir)
		closedir(dir);
	if (failed)
		snprintf(d->tx_budget_result, sizeof(d->tx_budget_result), "%u refused: %s",
			 d->tx_budget, strerror(failed));
	else
		snprintf(d->tx_budget_result, sizeof(d->tx_budget_result), "%u on %d socket(s)",
			 d->tx_budget, applied);
}

void dut_close(struct dut *d)
{
	if (d->port)
		su_port_close(d->port);
	/* The router is freed after the port's workers are joined (router.h). */
	su_router_free(d->router);
	su_port_free(d->port);
	bpf_link__destroy(d->xdp_link);
	bpf_object__close(d->xdp_obj);
	for (int i = 0; i < DUT_FILE_COUNT; i++)
		free(d->files[i].data);
	memset(d, 0, sizeof(*d));
}
