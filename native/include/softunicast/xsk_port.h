/* The AF_XDP port: our XDP program on one interface, a shared UMEM, one socket and one worker
 * thread per RX queue. Plain C, no N-API: used by the addon, the C tests and the benchmarks. */
#ifndef SOFTUNICAST_XSK_PORT_H
#define SOFTUNICAST_XSK_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "softunicast/abi.h"
#include "softunicast/error.h"

#ifdef __cplusplus
extern "C" {
#endif

struct su_port;
struct su_queue;

enum su_bind_mode {
	SU_BIND_AUTO,     /* let the kernel choose: zero-copy where the driver can, else copy */
	SU_BIND_COPY,
	SU_BIND_ZEROCOPY, /* fails with ERR_MODE_UNSUPPORTED where the driver cannot */
};

enum su_attach_mode {
	SU_ATTACH_DRIVER,  /* native XDP in the driver (veth has it) */
	SU_ATTACH_GENERIC, /* skb mode: every driver, slowest */
};

struct su_port_config {
	const char *ifname;
	const char *bpf_object_path; /* build/bpf/steer.bpf.o */
	uint32_t queue_ids[SU_MAX_QUEUES];
	uint32_t queue_count;
	uint32_t frame_size;     /* power of two, 2048 or 4096 (aligned UMEM chunks, at most a page) */
	uint32_t frame_count;    /* whole UMEM, split evenly between the queues */
	uint32_t frame_headroom; /* bytes reserved before each received packet */
	uint32_t rx_size, tx_size, fill_size, completion_size; /* ring entries, powers of two */
	uint32_t batch_size;     /* most descriptors taken from a ring at once */
	enum su_bind_mode bind;
	enum su_attach_mode attach;
	bool need_wakeup; /* XDP_USE_NEED_WAKEUP: the kernel says when a syscall is needed */
	bool busy_poll;   /* workers spin instead of sleeping in poll() */
	bool replace;     /* detach a foreign XDP program instead of refusing */
	/* A directory on a bpf filesystem, or NULL. With it the program's link and maps are pinned
	 * there: they outlive the process (the in-kernel lane keeps forwarding through a restart,
	 * kill -9 included), and the next port opened with it adopts them. su_pin_remove ends
	 * that on purpose. One directory per interface. */
	const char *pin_dir;
};

/* A frame as the worker hands it to a batch handler. The handler sets `action` (enum su_action)
 * and may change `len` (for SU_ACTION_TRANSMIT) but never `addr`'s frame. */
struct su_desc {
	uint64_t addr; /* UMEM offset of the first packet byte */
	uint32_t len;
	uint32_t action;
};

/* Runs on the queue's worker thread with each RX batch; every desc starts as SU_ACTION_RECYCLE.
 * Frames marked SU_ACTION_KEEP belong to the handler until given back with su_queue_submit(). */
typedef void (*su_batch_fn)(void *ctx, struct su_queue *queue, struct su_desc *descs, uint32_t n);

/* ---- port ---- */

/* Number of RX queues `ifname` has, for "all queues". 0 or -errno with `err` filled. */
int su_iface_rx_queue_count(const char *ifname, uint32_t *count, struct su_error *err);

/* The driver's name as ethtool reports it ("veth", "mlx5_core"), "" when it tells none. */
void su_iface_driver(const char *ifname, char *out, size_t size);

/* Attaches the program and binds the sockets; workers do not run until su_port_start(). */
int su_port_open(const struct su_port_config *cfg, struct su_port **out, struct su_error *err);
/* Starts one worker thread per queue. Handlers must be set before. */
int su_port_start(struct su_port *port, struct su_error *err);
/* Stops the workers, closes the sockets, detaches the program, frees the UMEM. Idempotent;
 * the struct itself stays valid (answers ERR_CLOSED) until su_port_free(). */
void su_port_close(struct su_port *port);
void su_port_free(struct su_port *port);
bool su_port_is_closed(const struct su_port *port);

/* Replaces the capture rules of a port without a router (all SU_CAPTURE_RULES_MAX slots of the
 * idle bank are rewritten, then the bank flipped): a packet sees the old rules or the new. Puts
 * the program in capture mode: never call it on a port a router runs on. */
int su_port_set_capture(struct su_port *port, const struct su_capture_rule *rules, uint32_t n,
			struct su_error *err);
/* The loaded XDP object, for native/router's tables (NULL once closed). */
struct bpf_object *su_port_bpf_object(struct su_port *port);
/* Whether the port took over a pinned link and maps from an earlier process. */
bool su_port_adopted(const struct su_port *port);
/* Unpins everything in `dir` and removes it: the program leaves the interface unless a live
 * port still holds its link. No directory is no error. */
int su_pin_remove(const char *dir, struct su_error *err);
/* The XDP program's counters summed over CPUs, indexed by enum su_steer_counter. */
int su_port_steer_counters(struct su_port *port, uint64_t out[SU_STEER_COUNTER_COUNT],
			   struct su_error *err);

uint8_t *su_port_umem(const struct su_port *port, uint64_t *size);
const struct su_port_config *su_port_config(const struct su_port *port);
bool su_port_zerocopy(const struct su_port *port);
uint32_t su_port_queue_count(const struct su_port *port);
struct su_queue *su_port_queue(struct su_port *port, uint32_t index);

/* ---- queue ---- */

uint32_t su_queue_id(const struct su_queue *queue);
void su_queue_set_handler(struct su_queue *queue, su_batch_fn fn, void *ctx);

/* Gives frames back to the worker: SU_ACTION_TRANSMIT or SU_ACTION_RECYCLE each. Callable from
 * ONE thread other than the worker (the JS thread). Returns how many were taken: all of them
 * unless more frames are returned than exist, which is a caller bug. */
uint32_t su_queue_submit(struct su_queue *queue, const struct su_desc *descs, uint32_t n);
/* Takes up to `n` free frames (UMEM offsets of frame starts) for the caller to fill and
 * transmit with su_queue_submit(). Same single thread as submit. May return fewer than asked,
 * 0 included, while the worker refills its reserve. */
uint32_t su_queue_alloc(struct su_queue *queue, uint64_t *addrs, uint32_t n);

/* Grace periods for data a batch handler reads, RCU-style: publish the new pointer (seq_cst),
 * take a snapshot, and free the old data once su_queue_grace_done() says the worker has left
 * the loop pass it was in (or sleeps, or has stopped). Any thread. */
uint64_t su_queue_grace_begin(const struct su_queue *queue);
bool su_queue_grace_done(const struct su_queue *queue, uint64_t snapshot);

void su_queue_counters(const struct su_queue *queue, uint64_t out[SU_QUEUE_COUNTER_COUNT]);
/* struct xdp_statistics of the socket, in SU_KERNEL_XDP_STATS order. */
int su_queue_kernel_stats(const struct su_queue *queue, uint64_t out[6], struct su_error *err);

#ifdef __cplusplus
}
#endif

#endif /* SOFTUNICAST_XSK_PORT_H */
