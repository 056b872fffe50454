/* Opening and closing a port: checks, program attach, UMEM, one socket per queue, worker
 * threads. Every step that can fail undoes the steps before it (su_port_close). */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_xdp.h>

#include "internal.h"

static int check_config(const struct su_port_config *c, struct su_error *err)
{
#define SU_POW2(v) ((v) != 0 && ((v) & ((v)-1)) == 0)
	/* TypeScript validates first and names the option; these guard C callers. */
	if (!c->ifname || !*c->ifname || strlen(c->ifname) >= IF_NAMESIZE)
		return su_error_set(err, "ERR_INVALID_OPTION", 0, NULL,
				    "Expected an interface name of 1 to %d characters",
				    IF_NAMESIZE - 1);
	if (c->pin_dir && (!*c->pin_dir || strlen(c->pin_dir) >= 4000))
		return su_error_set(err, "ERR_INVALID_OPTION", 0, NULL,
				    "Expected a pin directory of 1 to 3999 characters");
	if (c->queue_count == 0 || c->queue_count > SU_MAX_QUEUES)
		return su_error_set(err, "ERR_INVALID_OPTION", 0, NULL,
				    "Expected 1 to %d queues but received %u", SU_MAX_QUEUES,
				    c->queue_count);
	if (c->frame_size != 2048 && c->frame_size != 4096)
		return su_error_set(err, "ERR_INVALID_OPTION", 0, NULL,
				    "Expected 2048 or 4096 for frameSize but received %u",
				    c->frame_size);
	if (c->frame_headroom + XDP_PACKET_HEADROOM >= c->frame_size)
		return su_error_set(err, "ERR_INVALID_OPTION", 0, NULL,
				    "Expected frameHeadroom below %u but received %u",
				    c->frame_size - XDP_PACKET_HEADROOM, c->frame_headroom);
	if (c->frame_count / c->queue_count < 2 * c->batch_size ||
	    (uint64_t)c->frame_count * c->frame_size > (1ull << 32))
		return su_error_set(err, "ERR_INVALID_OPTION", 0, NULL,
				    "Expected frameCount of at least %u (two batches per queue) "
				    "and a UMEM of at most 4 GiB but received %u",
				    2 * c->batch_size * c->queue_count, c->frame_count);
	if (!SU_POW2(c->rx_size) || !SU_POW2(c->tx_size) || !SU_POW2(c->fill_size) ||
	    !SU_POW2(c->completion_size))
		return su_error_set(err, "ERR_INVALID_OPTION", 0, NULL,
				    "Expected powers of two for the ring sizes");
	if (c->batch_size == 0 || c->batch_size > 1024)
		return su_error_set(err, "ERR_INVALID_OPTION", 0, NULL,
				    "Expected batchSize from 1 to 1024 but received %u",
				    c->batch_size);
	for (uint32_t i = 0; i < c->queue_count; i++)
		for (uint32_t j = 0; j < i; j++)
			if (c->queue_ids[i] == c->queue_ids[j])
				return su_error_set(err, "ERR_INVALID_OPTION", 0, NULL,
						    "Expected distinct queues but queue %u is "
						    "listed twice", c->queue_ids[i]);
#undef SU_POW2
	return 0;
}

static int create_umem(struct su_port *port, struct su_error *err)
{
	const struct su_port_config *c = &port->cfg;
	struct xsk_umem_config ucfg = {
		.fill_size = c->fill_size,
		.comp_size = c->completion_size,
		.frame_size = c->frame_size,
		.frame_headroom = c->frame_headroom,
	};
	int ret;

	port->umem_size = (uint64_t)c->frame_count * c->frame_size;
	port->umem_area = mmap(NULL, port->umem_size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (port->umem_area == MAP_FAILED) {
		port->umem_area = NULL;
		return su_error_set(err, "ERR_SYSCALL", errno, "mmap",
				    "Could not map a UMEM of %llu bytes",
				    (unsigned long long)port->umem_size);
	}
	ret = xsk_umem__create(&port->umem, port->umem_area, port->umem_size,
			       &port->queues[0].fq, &port->queues[0].cq, &ucfg);
	if (ret)
		return su_error_set(err, ret == -EPERM ? "ERR_PERMISSION_DENIED" : "ERR_SYSCALL", ret,
				    "setsockopt",
				    "Could not register a UMEM of %llu bytes (AF_XDP needs CAP_NET_RAW; "
				    "without CAP_IPC_LOCK it counts against RLIMIT_MEMLOCK)",
				    (unsigned long long)port->umem_size);
	return 0;
}

static int bind_error(struct su_port *port, struct su_queue *q, int ret, struct su_error *err)
{
	const char *ifname = port->cfg.ifname;

	if (ret == -EBUSY)
		return su_error_set(err, "ERR_QUEUE_BUSY", ret, "bind",
				    "Queue %u of '%s' already has an AF_XDP socket", q->queue_id,
				    ifname);
	if ((ret == -EOPNOTSUPP || ret == -EINVAL) && port->cfg.bind == SU_BIND_ZEROCOPY)
		return su_error_set(err, "ERR_MODE_UNSUPPORTED", ret, "bind",
				    "Expected a driver with AF_XDP zero-copy for bind: 'zero-copy' "
				    "but '%s' has none; pass bind: 'copy' or 'auto'", ifname);
	if (ret == -EPERM)
		return su_error_set(err, "ERR_PERMISSION_DENIED", ret, "socket",
				    "AF_XDP sockets need CAP_NET_RAW");
	return su_error_set(err, "ERR_SYSCALL", ret, "bind",
			    "Could not bind an AF_XDP socket to queue %u of '%s': %s%s", q->queue_id,
			    ifname, strerror(-ret), su_log_capture_end());
}

static int create_socket(struct su_port *port, struct su_queue *q, struct su_error *err)
{
	const struct su_port_config *c = &port->cfg;
	struct xsk_socket_config scfg = {
		.rx_size = c->rx_size,
		.tx_size = c->tx_size,
		/* Our own program is attached already: libxdp must not load its default one. */
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
	};
	struct xdp_options opts;
	socklen_t optlen = sizeof(opts);
	int ret;

	scfg.bind_flags = c->bind == SU_BIND_COPY ? XDP_COPY
			  : c->bind == SU_BIND_ZEROCOPY ? XDP_ZEROCOPY : 0;
	if (c->need_wakeup)
		scfg.bind_flags |= XDP_USE_NEED_WAKEUP;

	ret = xsk_socket__create_shared(&q->xsk, c->ifname, q->queue_id, port->umem, &q->rx, &q->tx,
					&q->fq, &q->cq, &scfg);
	if (ret) {
		q->xsk = NULL;
		return bind_error(port, q, ret, err);
	}
	q->fd = xsk_socket__fd(q->xsk);
	if (getsockopt(q->fd, SOL_XDP, XDP_OPTIONS, &opts, &optlen))
		return su_error_set(err, "ERR_SYSCALL", errno, "getsockopt",
				    "Could not read the bind mode of queue %u", q->queue_id);
	port->zerocopy = opts.flags & XDP_OPTIONS_ZEROCOPY;

	/* Fill before the socket enters the XSKMAP: a packet redirected to a socket with an empty
	 * fill ring is dropped by the kernel, and the worker may not have run yet. */
	su_worker_prime(q);
	ret = xsk_socket__update_xskmap(q->xsk, port->xsks_map_fd);
	if (ret)
		return su_error_set(err, "ERR_SYSCALL", ret, "bpf_map_update_elem",
				    "Could not register the socket of queue %u in the XSKMAP",
				    q->queue_id);
	return 0;
}

/* Worker-side state of a queue; its frames are [first, first + count) of the UMEM. */
static int init_queue(struct su_port *port, struct su_queue *q, uint32_t first, uint32_t count,
		      struct su_error *err)
{
	const struct su_port_config *c = &port->cfg;

	q->port = port;
	q->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	/* Frames wander between queues (received on one, sent from another), so every per-queue
	 * holder is sized for all frames of the port, not just this queue's share. */
	q->free_frames.capacity = c->frame_count;
	q->free_frames.addrs = calloc(c->frame_count, sizeof(uint64_t));
	q->backlog.capacity = c->frame_count;
	q->backlog.descs = calloc(c->frame_count, sizeof(struct su_desc));
	q->batch = calloc(c->batch_size, sizeof(struct su_desc));
	if (q->event_fd < 0 || !q->free_frames.addrs || !q->backlog.descs || !q->batch ||
	    su_spsc_init(&q->submissions, c->frame_count) ||
	    su_spsc_init(&q->reserve, c->frame_count))
		return su_error_set(err, "ERR_SYSCALL", q->event_fd < 0 ? errno : ENOMEM,
				    q->event_fd < 0 ? "eventfd" : "malloc",
				    "Could not set up queue %u", q->queue_id);
	for (uint32_t i = 0; i < count; i++)
		q->free_frames.addrs[q->free_frames.count++] = (uint64_t)(first + i) * c->frame_size;
	return 0;
}

int su_port_open(const struct su_port_config *cfg, struct su_port **out, struct su_error *err)
{
	struct su_port *port;
	uint32_t per_queue;
	int ret;

	ret = check_config(cfg, err);
	if (ret)
		return ret;
	port = calloc(1, sizeof(*port));
	if (!port)
		return su_error_set(err, "ERR_SYSCALL", ENOMEM, "malloc", "Out of memory");
	port->cfg = *cfg;
	/* The caller's strings need not outlive this call (the addon's do not). */
	snprintf(port->ifname, sizeof(port->ifname), "%s", cfg->ifname);
	snprintf(port->bpf_object_path, sizeof(port->bpf_object_path), "%s", cfg->bpf_object_path);
	port->cfg.ifname = port->ifname;
	port->cfg.bpf_object_path = port->bpf_object_path;
	if (cfg->pin_dir) {
		snprintf(port->pin_dir, sizeof(port->pin_dir), "%s", cfg->pin_dir);
		port->cfg.pin_dir = port->pin_dir;
	}
	port->link_fd = -1;
	port->queue_count = cfg->queue_count;
	for (uint32_t i = 0; i < SU_MAX_QUEUES; i++) {
		port->queues[i].fd = -1;
		port->queues[i].event_fd = -1;
		port->queues[i].queue_id = cfg->queue_ids[i];
	}

	port->tx_len = calloc(cfg->frame_count, sizeof(*port->tx_len));
	if (!port->tx_len) {
		ret = su_error_set(err, "ERR_SYSCALL", ENOMEM, "malloc", "Out of memory");
		goto err_free;
	}
	/* Reports a missing interface too. */
	ret = su_iface_check_queues(cfg, err);
	if (ret)
		goto err_free;
	port->ifindex = (int)if_nametoindex(cfg->ifname);
	if ((ret = su_prog_attach(port, err)) || (ret = create_umem(port, err)))
		goto err_close;

	per_queue = cfg->frame_count / cfg->queue_count;
	for (uint32_t i = 0; i < port->queue_count; i++) {
		struct su_queue *q = &port->queues[i];

		if ((ret = init_queue(port, q, i * per_queue, per_queue, err)) ||
		    (ret = create_socket(port, q, err)))
			goto err_close;
	}
	*out = port;
	return 0;

err_close:
	su_port_close(port);
err_free:
	su_port_free(port);
	return ret;
}

int su_port_start(struct su_port *port, struct su_error *err)
{
	for (uint32_t i = 0; i < port->queue_count; i++) {
		struct su_queue *q = &port->queues[i];
		int ret;

		if (q->thread_started)
			continue;
		ret = pthread_create(&q->thread, NULL, su_worker_main, q);
		if (ret)
			return su_error_set(err, "ERR_SYSCALL", ret, "pthread_create",
					    "Could not start the worker of queue %u", q->queue_id);
		q->thread_started = true;
	}
	return 0;
}

static void stop_worker(struct su_queue *q)
{
	uint64_t one = 1;

	if (!q->thread_started)
		return;
	__atomic_store_n(&q->stop, 1, __ATOMIC_SEQ_CST);
	if (write(q->event_fd, &one, sizeof(one)) < 0) {
		/* Only EAGAIN is possible (counter saturated): the worker is awake anyway. */
	}
	pthread_join(q->thread, NULL);
	q->thread_started = false;
}

void su_port_close(struct su_port *port)
{
	if (port->closed)
		return;
	port->closed = true;
	for (uint32_t i = 0; i < port->queue_count; i++)
		stop_worker(&port->queues[i]);
	/* Detach first so that no packet is redirected to a socket that is going away. */
	su_prog_detach(port);
	for (uint32_t i = 0; i < port->queue_count; i++) {
		struct su_queue *q = &port->queues[i];

		if (q->xsk)
			xsk_socket__delete(q->xsk);
		q->xsk = NULL;
		q->fd = -1;
	}
	if (port->umem)
		xsk_umem__delete(port->umem);
	port->umem = NULL;
	if (port->umem_area)
		munmap(port->umem_area, port->umem_size);
	port->umem_area = NULL;
}

void su_port_free(struct su_port *port)
{
	if (!port)
		return;
	su_port_close(port);
	for (uint32_t i = 0; i < SU_MAX_QUEUES; i++) {
		struct su_queue *q = &port->queues[i];

		if (q->event_fd >= 0)
			close(q->event_fd);
		free(q->free_frames.addrs);
		free(q->backlog.descs);
		free(q->batch);
		su_spsc_destroy(&q->submissions);
		su_spsc_destroy(&q->reserve);
	}
	free(port->tx_len);
	free(port);
}

bool su_port_is_closed(const struct su_port *port)
{
	return port->closed;
}

uint8_t *su_port_umem(const struct su_port *port, uint64_t *size)
{
	*size = port->umem_size;
	return port->umem_area;
}

const struct su_port_config *su_port_config(const struct su_port *port)
{
	return &port->cfg;
}

bool su_port_zerocopy(const struct su_port *port)
{
	return port->zerocopy;
}

uint32_t su_port_queue_count(const struct su_port *port)
{
	return port->queue_count;
}

struct su_queue *su_port_queue(struct su_port *port, uint32_t index)
{
	return index < port->queue_count ? &port->queues[index] : NULL;
}
