/* A queue from the other threads' side (softunicast/xsk_port.h): the batch handler, submissions
 * and allocations through the worker's SPSC rings, grace periods for data a handler reads, and
 * the counters. The worker's own loop is worker.c. */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

uint32_t su_queue_id(const struct su_queue *q)
{
	return q->queue_id;
}

void su_queue_set_handler(struct su_queue *q, su_batch_fn fn, void *ctx)
{
	/* May change while the worker runs, which reads fn (acquire) before ctx: a new ctx is
	 * published before its fn, and fn is cleared before its ctx. A ctx must stay valid for as
	 * long as its fn may still run. */
	if (fn) {
		__atomic_store_n(&q->handler_ctx, ctx, __ATOMIC_RELAXED);
		__atomic_store_n(&q->handler, fn, __ATOMIC_RELEASE);
	} else {
		__atomic_store_n(&q->handler, fn, __ATOMIC_SEQ_CST);
		/* ctx stays: a worker that loaded the old fn may still read it. */
	}
}

uint32_t su_queue_submit(struct su_queue *q, const struct su_desc *descs, uint32_t n)
{
	uint64_t one = 1;
	uint32_t pushed = su_spsc_push(&q->submissions, descs, n);

	if (__atomic_load_n(&q->sleeping, __ATOMIC_SEQ_CST) && write(q->event_fd, &one, 8) < 0) {
		/* EAGAIN only: the eventfd is already signalled. */
	}
	return pushed;
}

uint32_t su_queue_alloc(struct su_queue *q, uint64_t *addrs, uint32_t n)
{
	struct su_desc d;
	uint32_t got = 0;

	if (!__atomic_load_n(&q->reserve_wanted, __ATOMIC_RELAXED)) {
		uint64_t one = 1;

		/* First use: ask the worker to keep a reserve, and wake it to stock one now. */
		__atomic_store_n(&q->reserve_wanted, 1, __ATOMIC_SEQ_CST);
		if (write(q->event_fd, &one, 8) < 0) {
			/* EAGAIN only */
		}
	}
	while (got < n && su_spsc_pop(&q->reserve, &d, 1) == 1)
		addrs[got++] = d.addr;
	if (got < n && __atomic_load_n(&q->sleeping, __ATOMIC_SEQ_CST)) {
		uint64_t one = 1;

		/* Short: have a sleeping worker restock the reserve for the caller's next try. */
		if (write(q->event_fd, &one, 8) < 0) {
			/* EAGAIN only */
		}
	}
	return got;
}

uint64_t su_queue_grace_begin(const struct su_queue *q)
{
	return __atomic_load_n(&q->passes, __ATOMIC_ACQUIRE);
}

bool su_queue_grace_done(const struct su_queue *q, uint64_t snapshot)
{
	/* A worker that is not running, asleep, or past the pass it was in at the snapshot holds
	 * nothing published before the snapshot. */
	if (!q->thread_started || __atomic_load_n(&q->stop, __ATOMIC_ACQUIRE))
		return true;
	if (__atomic_load_n(&q->sleeping, __ATOMIC_SEQ_CST))
		return true;
	return __atomic_load_n(&q->passes, __ATOMIC_ACQUIRE) != snapshot;
}

void su_queue_counters(const struct su_queue *q, uint64_t out[SU_QUEUE_COUNTER_COUNT])
{
	for (int i = 0; i < SU_QUEUE_COUNTER_COUNT; i++)
		out[i] = __atomic_load_n(&q->counters[i], __ATOMIC_RELAXED);
}

int su_queue_kernel_stats(const struct su_queue *q, uint64_t out[6], struct su_error *err)
{
	struct xdp_statistics st = { 0 }; /* valgrind does not know SOL_XDP getsockopt fills it */
	socklen_t len = sizeof(st);

	if (q->port->closed)
		return su_error_set(err, "ERR_CLOSED", 0, NULL, "The port on '%s' is closed",
				    q->port->cfg.ifname);
	if (getsockopt(q->fd, SOL_XDP, XDP_STATISTICS, &st, &len))
		return su_error_set(err, "ERR_SYSCALL", errno, "getsockopt",
				    "Could not read XDP_STATISTICS of queue %u", q->queue_id);
	_Static_assert(sizeof(st) == 6 * sizeof(uint64_t), "struct xdp_statistics changed");
	out[0] = st.rx_dropped;
	out[1] = st.rx_invalid_descs;
	out[2] = st.tx_invalid_descs;
	out[3] = st.rx_ring_full;
	out[4] = st.rx_fill_ring_empty_descs;
	out[5] = st.tx_ring_empty_descs;
	return 0;
}
