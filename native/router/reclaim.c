/* Retired tables, reclaimed by the router itself: a publish retires the table it replaces with a
 * snapshot of every worker (su_queue_grace_begin), and a reclaimer thread frees it once every
 * worker has moved past (su_queue_grace_done), keeping its final counters for the addon. No
 * caller has to come back and ask: a busy JavaScript thread never holds a million slices alive. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"

/* How long the reclaimer waits before it looks again at a worker that was in a pass: a pass is
 * one batch, microseconds long. */
#define RECLAIM_RETRY_NS 1000000L

/* A table no worker reads any more: its counters are final. They wait for the addon to add
 * them up; if it never asks and the list is full, the oldest is given up (its counts lost).
 * Called with r->lock held. */
static void finish_locked(struct su_router *r, struct su_route_table *t)
{
	if (r->finished_count == SU_ROUTER_FINISHED_MAX) {
		su_route_table_free(r->finished[0]);
		for (uint32_t i = 1; i < r->finished_count; i++)
			r->finished[i - 1] = r->finished[i];
		r->finished_count--;
	}
	r->finished[r->finished_count++] = t;
}

/* Unlinks the retired tables every worker has left into `*done`; returns how many remain.
 * Called with r->lock held. */
static uint32_t take_done_locked(struct su_router *r, struct su_retired **done)
{
	struct su_retired **link = &r->retired;
	uint32_t remaining = 0;

	while (*link) {
		struct su_retired *ret = *link;
		bool left = true;

		/* An unbound router's batches run on the caller's thread: nothing is in flight. */
		for (uint32_t i = 0; i < r->queue_count && left; i++)
			left = !r->queues[i].queue ||
			       su_queue_grace_done(r->queues[i].queue, ret->snapshots[i]);
		if (left) {
			*link = ret->next;
			ret->next = *done;
			*done = ret;
		} else {
			link = &ret->next;
			remaining++;
		}
	}
	return remaining;
}

uint32_t su_router_reclaim(struct su_router *r)
{
	struct su_retired *done = NULL;
	uint32_t remaining;

	pthread_mutex_lock(&r->lock);
	remaining = take_done_locked(r, &done);
	pthread_mutex_unlock(&r->lock);
	/* The views freed outside the lock: a million slices take a while to give back. */
	while (done) {
		struct su_retired *next = done->next;

		su_view_free(done->table->view);
		done->table->view = NULL;
		pthread_mutex_lock(&r->lock);
		finish_locked(r, done->table);
		pthread_mutex_unlock(&r->lock);
		free(done);
		done = next;
	}
	return remaining;
}

uint32_t su_router_retired_count(struct su_router *r)
{
	uint32_t n = 0;

	pthread_mutex_lock(&r->lock);
	for (const struct su_retired *ret = r->retired; ret; ret = ret->next)
		n++;
	pthread_mutex_unlock(&r->lock);
	return n;
}

void su_router_retire(struct su_router *r, struct su_retired *ret)
{
	pthread_mutex_lock(&r->lock);
	ret->next = r->retired;
	r->retired = ret;
	pthread_mutex_unlock(&r->lock);
	if (su_router_reclaim(r) > 0 && r->reclaimer_running)
		pthread_cond_signal(&r->wake);
}

static void *reclaimer_main(void *arg)
{
	struct su_router *r = arg;

	pthread_mutex_lock(&r->lock);
	while (!r->stopping) {
		struct timespec at;

		if (!r->retired) {
			pthread_cond_wait(&r->wake, &r->lock);
			continue;
		}
		pthread_mutex_unlock(&r->lock);
		su_router_reclaim(r);
		pthread_mutex_lock(&r->lock);
		if (!r->retired || r->stopping)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &at);
		at.tv_nsec += RECLAIM_RETRY_NS;
		if (at.tv_nsec >= 1000000000L) {
			at.tv_sec++;
			at.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&r->wake, &r->lock, &at);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int su_router_sync_init(struct su_router *r, struct su_error *err)
{
	pthread_condattr_t attr;
	int ret;

	if ((ret = pthread_mutex_init(&r->lock, NULL)))
		return su_error_set(err, "ERR_SYSCALL", ret, "pthread_mutex_init",
				    "Could not create the router's lock");
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	ret = pthread_cond_init(&r->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (ret) {
		pthread_mutex_destroy(&r->lock);
		return su_error_set(err, "ERR_SYSCALL", ret, "pthread_cond_init",
				    "Could not create the router's condition variable");
	}
	r->sync_ready = true;
	return 0;
}

int su_router_reclaimer_start(struct su_router *r, struct su_error *err)
{
	int ret = pthread_create(&r->reclaimer, NULL, reclaimer_main, r);

	if (ret)
		return su_error_set(err, "ERR_SYSCALL", ret, "pthread_create",
				    "Could not start the router's reclaimer thread");
	pthread_setname_np(r->reclaimer, "su-reclaim");
	r->reclaimer_running = true;
	return 0;
}

void su_router_sync_destroy(struct su_router *r)
{
	if (r->reclaimer_running) {
		pthread_mutex_lock(&r->lock);
		r->stopping = true;
		pthread_cond_signal(&r->wake);
		pthread_mutex_unlock(&r->lock);
		pthread_join(r->reclaimer, NULL);
		r->reclaimer_running = false;
	}
	if (r->sync_ready) {
		pthread_cond_destroy(&r->wake);
		pthread_mutex_destroy(&r->lock);
		r->sync_ready = false;
	}
}
