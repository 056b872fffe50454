/* Internals of native/xsk shared by its files: the port and queue structs, and the steps of
 * opening a port. Nothing outside native/xsk includes this. */
#ifndef SOFTUNICAST_XSK_INTERNAL_H
#define SOFTUNICAST_XSK_INTERNAL_H

#include <net/if.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <xdp/xsk.h>

#include "softunicast/xsk_port.h"
#include "softunicast/spsc_ring.h"

struct bpf_object;

/* Frames owned by the worker and not in any ring: a plain stack, touched by the worker only. */
struct su_frame_stack {
	uint64_t *addrs;
	uint32_t count;
	uint32_t capacity;
};

/* Descriptors waiting for room on the TX ring, in order; worker only. */
struct su_tx_backlog {
	struct su_desc *descs;
	uint32_t head; /* index of the oldest entry */
	uint32_t count;
	uint32_t capacity;
};

struct su_queue {
	struct su_port *port;
	uint32_t queue_id;
	struct xsk_socket *xsk;
	struct xsk_ring_cons rx, cq;
	struct xsk_ring_prod tx, fq;
	int fd;       /* the socket's, for poll() and sendto() */
	int event_fd; /* wakes the worker from poll(): submissions and stop */

	su_batch_fn handler;
	void *handler_ctx;

	/* Worker-owned state. */
	struct su_frame_stack free_frames;
	struct su_tx_backlog backlog;
	struct su_desc *batch; /* batch_size scratch descriptors */
	uint32_t tx_outstanding; /* on the TX ring or in flight, not yet completed */

	/* Shared with the one submitting/allocating thread. */
	struct su_spsc_ring submissions; /* other thread -> worker: frames given back */
	struct su_spsc_ring reserve;     /* worker -> other thread: free frames for su_queue_alloc */
	uint32_t reserve_wanted;  /* set by the first su_queue_alloc(): keep `reserve` stocked */
	uint32_t sleeping;        /* the worker is (about to be) in poll(); see su_queue_submit */
	uint32_t stop;
	uint64_t passes; /* loop passes completed, handler included: grace periods (su_queue_grace_*) */

	uint64_t counters[SU_QUEUE_COUNTER_COUNT]; /* single writer: the worker */
	pthread_t thread;
	bool thread_started;
};

struct su_port {
	struct su_port_config cfg; /* its strings point into the two arrays below */
	char ifname[IF_NAMESIZE];
	char bpf_object_path[4096];
	char pin_dir[4096];
	int ifindex;
	bool closed;
	bool zerocopy;

	struct bpf_object *bpf_obj;
	int prog_fd;
	int link_fd;
	int xsks_map_fd;
	int capture_map_fd;
	int control_map_fd;
	bool adopted; /* the link and maps came pinned from an earlier process */
	int counters_map_fd;

	uint8_t *umem_area;
	uint64_t umem_size;
	struct xsk_umem *umem;

	/* Length of each frame's packet while it is on a TX ring, by frame number: the completion
	 * ring returns addresses only, and tx_bytes counts what the kernel completed. */
	uint32_t *tx_len;

	uint32_t queue_count;
	struct su_queue queues[SU_MAX_QUEUES];
};

/* bpf_prog.c: load our object, attach it with a BPF link (detached by the kernel when the
 * process dies, kill -9 included: FACTS.md "Building and attaching"). */
int su_prog_attach(struct su_port *port, struct su_error *err);
void su_prog_detach(struct su_port *port);
/* Writes capture rules into the idle bank of a loaded steer object's su_capture_rules and
 * switches it to them (SU_MODE_CAPTURE): su_port_set_capture, and the BPF_PROG_TEST_RUN tool
 * (native/test/steer_run.c), which has an object but no port. */
int su_prog_set_capture(struct bpf_object *obj, const char *path,
			const struct su_capture_rule *rules, uint32_t n, struct su_error *err);
/* Waits until no run of the program that read a map before this call is left (bpf/maps.h,
 * su_grace). */
int su_prog_grace(struct bpf_object *obj, const char *path, struct su_error *err);

/* pin.c: with `dir` the maps that declare pinning are pinned (or adopted) under it, without
 * it none is. */
int su_pin_prepare(struct bpf_object *obj, const char *dir, struct su_error *err);
/* 1 with the fd of the XDP link pinned in `dir` on `ifindex`, 0 when there is none. */
int su_pin_adopt_link(const char *dir, int ifindex, int *link_fd, struct su_error *err);
int su_pin_link(const char *dir, int link_fd, struct su_error *err);

/* iface.c */
int su_iface_check_queues(const struct su_port_config *cfg, struct su_error *err);
int su_iface_check_foreign_prog(const struct su_port_config *cfg, int ifindex,
				struct su_error *err);

/* worker.c */
void *su_worker_main(void *arg);
/* Fills the fill ring from the queue's free frames; before the worker starts only. */
void su_worker_prime(struct su_queue *q);
void su_queue_count(struct su_queue *q, enum su_queue_counter c, uint64_t delta);

/* libbpf and libxdp print through here while a port opens, so that their complaints end up in
 * the error message instead of on stderr (log.c). */
void su_log_capture_begin(void);
const char *su_log_capture_end(void); /* the captured tail, valid until the next begin */

#endif /* SOFTUNICAST_XSK_INTERNAL_H */
