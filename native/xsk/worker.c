/* The per-queue worker thread: moves frames between the four rings of its socket, the batch
 * handler and the submitting thread. The only code that touches its socket's rings (queue.c is the
 * other threads' side). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

/* Frames kept ready for su_queue_alloc() once a caller has asked for one: enough for a few
 * batches of transmissions without starving the fill ring. */
#define SU_RESERVE_BATCHES 4

void su_queue_count(struct su_queue *q, enum su_queue_counter c, uint64_t delta)
{
	/* Single writer: a relaxed load-add-store is enough, and readers never see a torn value. */
	__atomic_store_n(&q->counters[c], q->counters[c] + delta, __ATOMIC_RELAXED);
}

static uint64_t frame_base(const struct su_queue *q, uint64_t addr)
{
	/* Aligned chunk mode: a frame starts at a multiple of the (power-of-two) frame size. */
	return addr & ~((uint64_t)q->port->cfg.frame_size - 1);
}

static void free_push(struct su_queue *q, uint64_t addr)
{
	struct su_frame_stack *s = &q->free_frames;

	/* Capacity is the port's frame count and a frame is in one place at a time. */
	s->addrs[s->count++] = frame_base(q, addr);
}

static bool reclaim_completions(struct su_queue *q)
{
	uint32_t idx, n = xsk_ring_cons__peek(&q->cq, q->port->cfg.completion_size, &idx);

	if (!n)
		return false;
	uint64_t bytes = 0;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t addr = *xsk_ring_cons__comp_addr(&q->cq, idx + i);

		bytes += q->port->tx_len[addr / q->port->cfg.frame_size];
		free_push(q, addr);
	}
	xsk_ring_cons__release(&q->cq, n);
	q->tx_outstanding -= n;
	su_queue_count(q, SU_QUEUE_tx_packets, n);
	su_queue_count(q, SU_QUEUE_tx_bytes, bytes);
	return true;
}

static void put_tx_desc(struct su_queue *q, uint32_t idx, const struct su_desc *d)
{
	struct xdp_desc *t = xsk_ring_prod__tx_desc(&q->tx, idx);

	t->addr = d->addr;
	t->len = d->len;
	t->options = 0;
	q->port->tx_len[d->addr / q->port->cfg.frame_size] = d->len;
}

/* Moves backlog entries onto the TX ring while it has room. */
static bool flush_backlog(struct su_queue *q)
{
	struct su_tx_backlog *b = &q->backlog;
	uint32_t idx, n;

	if (!b->count)
		return false;
	/* libxdp's reserve is all or nothing: ask only for what fits, or a backlog longer than
	 * the free part of the ring would never drain. */
	n = xsk_prod_nb_free(&q->tx, b->count);
	if (n > b->count)
		n = b->count;
	if (!n)
		return false;
	n = xsk_ring_prod__reserve(&q->tx, n, &idx);
	for (uint32_t i = 0; i < n; i++)
		put_tx_desc(q, idx + i, &b->descs[(b->head + i) % b->capacity]);
	if (n) {
		xsk_ring_prod__submit(&q->tx, n);
		b->head = (b->head + n) % b->capacity;
		b->count -= n;
		q->tx_outstanding += n;
	}
	return n > 0;
}

/* Order is kept: a packet never overtakes one queued before it. */
static void transmit(struct su_queue *q, const struct su_desc *d)
{
	struct su_tx_backlog *b = &q->backlog;

	if (b->count && !flush_backlog(q))
		su_queue_count(q, SU_QUEUE_tx_ring_full, 1);
	if (b->count == 0) {
		uint32_t idx;

		if (xsk_ring_prod__reserve(&q->tx, 1, &idx) == 1) {
			put_tx_desc(q, idx, d);
			/* Submitted one by one but kicked once per loop turn: the producer index
			 * store is a plain release, cheap next to the syscall. */
			xsk_ring_prod__submit(&q->tx, 1);
			q->tx_outstanding++;
			return;
		}
		su_queue_count(q, SU_QUEUE_tx_ring_full, 1);
	}
	b->descs[(b->head + b->count) % b->capacity] = *d;
	b->count++;
}

static void dispose(struct su_queue *q, const struct su_desc *d)
{
	if (d->action == SU_ACTION_TRANSMIT)
		transmit(q, d);
	else if (d->action != SU_ACTION_KEEP)
		free_push(q, d->addr); /* RECYCLE, and anything unknown rather than leak it */
	/* SU_ACTION_KEEP: the handler owns the frame now. */
}

static bool drain_submissions(struct su_queue *q)
{
	bool progress = false;
	uint32_t n;

	while ((n = su_spsc_pop(&q->submissions, q->batch, q->port->cfg.batch_size)) > 0) {
		for (uint32_t i = 0; i < n; i++)
			dispose(q, &q->batch[i]);
		progress = true;
	}
	return progress;
}

/* Frames the worker keeps in the reserve for allocate() once a caller has used it: a few batches,
 * but never more than half the queue's frames, so that the fill ring always has the other half
 * (open() guarantees at least two batches per queue). */
static uint32_t reserve_target(const struct su_queue *q)
{
	const struct su_port_config *c = &q->port->cfg;
	uint32_t half = c->frame_count / c->queue_count / 2;
	uint32_t batches = SU_RESERVE_BATCHES * c->batch_size;

	return batches < half ? batches : half;
}

static void stock_reserve(struct su_queue *q)
{
	uint32_t target = reserve_target(q);
	uint32_t have, want;
	struct su_desc d = { 0 };

	if (!__atomic_load_n(&q->reserve_wanted, __ATOMIC_RELAXED))
		return;
	have = su_spsc_count(&q->reserve);
	want = have < target ? target - have : 0;
	while (want-- > 0 && q->free_frames.count > 0) {
		d.addr = q->free_frames.addrs[--q->free_frames.count];
		if (su_spsc_push(&q->reserve, &d, 1) != 1) {
			q->free_frames.count++;
			break;
		}
	}
}

static bool refill_fill_ring(struct su_queue *q)
{
	struct su_frame_stack *s = &q->free_frames;
	uint32_t idx, room, n;

	/* Once a caller allocates, keep what the reserve still lacks out of the fill ring, or a
	 * fill ring as large as the queue's frames would take them all and allocation would
	 * starve. Only the shortfall: frames already in the reserve are not in the free stack, and
	 * holding back a whole reserve's worth again would leave a small UMEM's fill ring empty
	 * for good (xsk-exhaustion.test.ts). */
	uint32_t target = reserve_target(q), have = su_spsc_count(&q->reserve);
	uint32_t keep = __atomic_load_n(&q->reserve_wanted, __ATOMIC_RELAXED) && have < target
				? target - have
				: 0;
	uint32_t spare = s->count > keep ? s->count - keep : 0;

	room = xsk_prod_nb_free(&q->fq, q->port->cfg.fill_size);
	if (!room)
		return false;
	n = room < spare ? room : spare;
	if (!n) {
		/* Every frame is elsewhere (in flight, with the handler, in the reserve); the kernel
		 * will count the packets it drops for want of a fill entry. */
		if (xsk_prod_nb_free(&q->fq, q->port->cfg.fill_size) == q->port->cfg.fill_size)
			su_queue_count(q, SU_QUEUE_fill_ring_empty, 1);
		return false;
	}
	n = xsk_ring_prod__reserve(&q->fq, n, &idx);
	for (uint32_t i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&q->fq, idx + i) = s->addrs[--s->count];
	xsk_ring_prod__submit(&q->fq, n);
	return n > 0;
}

void su_worker_prime(struct su_queue *q)
{
	refill_fill_ring(q);
}

static bool receive_batch(struct su_queue *q)
{
	uint32_t idx, n = xsk_ring_cons__peek(&q->rx, q->port->cfg.batch_size, &idx);
	uint64_t bytes = 0;

	if (!n)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		const struct xdp_desc *r = xsk_ring_cons__rx_desc(&q->rx, idx + i);

		q->batch[i] = (struct su_desc){ .addr = r->addr, .len = r->len,
						.action = SU_ACTION_RECYCLE };
		bytes += r->len;
	}
	xsk_ring_cons__release(&q->rx, n);
	su_queue_count(q, SU_QUEUE_rx_packets, n);
	su_queue_count(q, SU_QUEUE_rx_bytes, bytes);

	su_batch_fn handler = __atomic_load_n(&q->handler, __ATOMIC_ACQUIRE);

	if (handler) {
		handler(__atomic_load_n(&q->handler_ctx, __ATOMIC_RELAXED), q, q->batch, n);
		su_queue_count(q, SU_QUEUE_batches, 1);
	} else {
		su_queue_count(q, SU_QUEUE_rx_dropped_no_handler, n);
	}
	for (uint32_t i = 0; i < n; i++)
		dispose(q, &q->batch[i]);
	return true;
}

/* Copy mode transmits inside sendto(), a bounded number of packets per call; so transmit is
 * kicked on every loop turn while the TX ring holds packets, not only when new ones arrive (a
 * stall seen in afxdp-rs on veth: FACTS.md). */
static void kick_tx(struct su_queue *q)
{
	bool ring_busy = __atomic_load_n(q->tx.consumer, __ATOMIC_ACQUIRE) != *q->tx.producer;

	if (!ring_busy)
		return;
	if (q->port->cfg.need_wakeup && !xsk_ring_prod__needs_wakeup(&q->tx))
		return;
	su_queue_count(q, SU_QUEUE_tx_kicks, 1);
	if (sendto(q->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) == 0 || errno == EAGAIN || errno == ENOBUFS)
		return;
	/* Copy mode answers EBUSY when the device dropped a frame (NET_XMIT_DROP): it still comes
	 * back on the completion ring, so it must be counted here or it passes as sent. */
	su_queue_count(q, errno == EBUSY ? SU_QUEUE_tx_dropped_kicks : SU_QUEUE_tx_kick_errors, 1);
}

static bool work_pending(struct su_queue *q)
{
	return su_spsc_count(&q->submissions) > 0 ||
	       __atomic_load_n(&q->stop, __ATOMIC_SEQ_CST);
}

static void wait_for_work(struct su_queue *q)
{
	struct pollfd fds[2] = {
		{ .fd = q->fd, .events = POLLIN },
		{ .fd = q->event_fd, .events = POLLIN },
	};
	/* While packets are in flight the completion ring fills without waking poll(): look again
	 * soon. Otherwise sleep until a packet or a submission arrives. */
	int timeout = q->tx_outstanding || q->backlog.count ? 1 : -1;
	uint64_t drained;

	/* Announce the sleep, then look once more: su_queue_submit pushes, then reads `sleeping`;
	 * with both sides seq_cst, at least one of them sees the other. */
	__atomic_store_n(&q->sleeping, 1, __ATOMIC_SEQ_CST);
	if (!work_pending(q)) {
		if (poll(fds, 2, timeout) > 0)
			su_queue_count(q, SU_QUEUE_wakeups, 1);
		if (fds[1].revents & POLLIN && read(q->event_fd, &drained, sizeof(drained)) < 0) {
			/* EAGAIN: another wakeup consumed it; nothing is lost. */
		}
	}
	/* seq_cst, not relaxed: su_queue_grace_done() reads `sleeping` after swapping a pointer the
	 * handler loads; one of the two must see the other's store (store-buffering). */
	__atomic_store_n(&q->sleeping, 0, __ATOMIC_SEQ_CST);
}

void *su_worker_main(void *arg)
{
	struct su_queue *q = arg;
	char name[16];

	snprintf(name, sizeof(name), "su-queue-%u", q->queue_id);
	pthread_setname_np(pthread_self(), name);

	while (!__atomic_load_n(&q->stop, __ATOMIC_ACQUIRE)) {
		bool progress = reclaim_completions(q);

		progress |= flush_backlog(q);
		progress |= drain_submissions(q);
		stock_reserve(q);
		progress |= refill_fill_ring(q);
		/* In need_wakeup mode the kernel stops pulling the fill ring until told to. */
		if (q->port->cfg.need_wakeup && xsk_ring_prod__needs_wakeup(&q->fq))
			recvfrom(q->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
		progress |= receive_batch(q);
		kick_tx(q);
		/* Release: whatever the handler read this pass is no longer in use once this shows. */
		__atomic_store_n(&q->passes, q->passes + 1, __ATOMIC_RELEASE);
		if (!progress && !q->port->cfg.busy_poll)
			wait_for_work(q);
	}
	return NULL;
}
