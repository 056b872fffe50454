// The slow path to TypeScript: received batches cross from a worker thread to the JS thread
// through an SPSC ring and a coalescing doorbell (one thread-safe-function call per queue at a
// time), and come back through the exchange buffer with one native call per batch.
#include "port_wrap.h"

#include <string>

#include "errors.h"

namespace su {

// Batches handed to JS per doorbell call before yielding to the event loop, so that a flood on
// one queue cannot starve timers and I/O.
static constexpr int kBatchesPerTurn = 16;

void DeliverFromWorker(void *ctx, su_queue *, su_desc *descs, uint32_t n)
{
	JsQueue *jq = static_cast<JsQueue *>(ctx);
	// `to_js` holds every frame of the port, so this never falls short; if it ever did, the
	// rest stay SU_ACTION_RECYCLE and are dropped rather than lost track of.
	uint32_t pushed = su_spsc_push(&jq->to_js, descs, n);

	for (uint32_t i = 0; i < pushed; i++)
		descs[i].action = SU_ACTION_KEEP;
	// seq_cst pairs with CallJs's store and re-check: neither side may miss the other.
	if (jq->scheduled.exchange(1, std::memory_order_seq_cst) == 0 &&
	    jq->port->doorbell.NonBlockingCall(jq) != napi_ok)
		jq->scheduled.store(0, std::memory_order_release);  // closing: nobody to ring
}

static uint32_t FrameOf(const PortWrap &port, uint64_t addr)
{
	return static_cast<uint32_t>(addr / su_port_config(port.port)->frame_size);
}

// Frames nobody will look at (no handler, or the port closing) go straight back.
static void RecycleAll(PortWrap &port, JsQueue &jq, su_desc *descs, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		descs[i].action = SU_ACTION_RECYCLE;
		port.js_owned[FrameOf(port, descs[i].addr)] = 0;
	}
	su_queue_submit(jq.queue, descs, n);
}

// Lowers the `scheduled` flag and rings again if batches arrived meanwhile: on every way out of
// CallJs, an exception from the handler included, or the queue would never be rung again.
static void Reschedule(PortWrap *port, JsQueue *jq)
{
	jq->scheduled.store(0, std::memory_order_seq_cst);
	// A batch pushed after our last pop but while `scheduled` was still 1 got no doorbell of
	// its own: look once more now that the flag is down.
	if (su_spsc_count(&jq->to_js) > 0 && jq->scheduled.exchange(1) == 0 &&
	    port->doorbell.NonBlockingCall(jq) != napi_ok)
		jq->scheduled.store(0);
}

static void DeliverBatches(Napi::Env env, PortWrap *port, JsQueue *jq);

void CallJs(Napi::Env env, Napi::Function, PortWrap *port, JsQueue *jq)
{
	if (env == nullptr || su_port_is_closed(port->port))
		return;
	try {
		DeliverBatches(env, port, jq);
	} catch (...) {
		if (!su_port_is_closed(port->port))
			Reschedule(port, jq);
		throw;  // becomes the process's uncaught exception
	}
	if (!su_port_is_closed(port->port))
		Reschedule(port, jq);
}

static void DeliverBatches(Napi::Env env, PortWrap *port, JsQueue *jq)
{
	su_desc descs[1024];
	uint32_t max = std::min<uint32_t>(jq->exchange_capacity, 1024);

	for (int turn = 0; turn < kBatchesPerTurn; turn++) {
		uint32_t n = su_spsc_pop(&jq->to_js, descs, max);

		if (n == 0)
			break;
		for (uint32_t i = 0; i < n; i++)
			port->js_owned[FrameOf(*port, descs[i].addr)] = 1;
		if (jq->handler.IsEmpty()) {
			RecycleAll(*port, *jq, descs, n);
			continue;
		}
		for (uint32_t i = 0; i < n; i++)
			jq->exchange[i] = { static_cast<uint32_t>(descs[i].addr), descs[i].len,
					    SU_ACTION_RECYCLE, 0 };
		// The JS side submits the batch before it returns (src/xdp/queue.ts, in a finally);
		// an exception propagates as an uncaught exception of the process.
		jq->handler.Call({ Napi::Number::New(env, n) });
		if (su_port_is_closed(port->port))
			return;  // closed from inside the handler
	}
}

uint32_t SubmitExchange(Napi::Env env, PortWrap &port, JsQueue &jq, uint32_t area, uint32_t count)
{
	const struct su_port_config *cfg = su_port_config(port.port);
	uint64_t umem_size;
	su_desc descs[1024];

	su_port_umem(port.port, &umem_size);
	if (count > jq.exchange_capacity || count > 1024)
		throw MakeError(env, "ERR_INVALID_FRAME",
				"Expected at most " + std::to_string(jq.exchange_capacity) +
					" frames per submit but received " + std::to_string(count));
	if (area > SU_EXCHANGE_TX)
		throw MakeError(env, "ERR_INVALID_FRAME",
				"Expected exchange area 0 or 1 but received " + std::to_string(area));
	const su_exchange_entry *entries = jq.exchange + area * jq.exchange_capacity;
	// Validate everything before giving anything back: a bad entry must not leave half a
	// batch transmitted. Ownership is taken as we go (so a frame listed twice is caught) and
	// given back if any entry is bad.
	auto restore = [&](uint32_t upto) {
		for (uint32_t j = 0; j < upto; j++)
			port.js_owned[entries[j].addr / cfg->frame_size] = 1;
	};
	for (uint32_t i = 0; i < count; i++) {
		const su_exchange_entry &e = entries[i];
		std::string where = "frame " + std::to_string(i) + " (UMEM offset " +
				    std::to_string(e.addr) + ")";

		if (e.addr >= umem_size || !port.js_owned[e.addr / cfg->frame_size]) {
			restore(i);
			throw MakeError(env, "ERR_INVALID_FRAME",
					"Expected a frame this program holds for " + where +
						" but it was never handed out or was given back "
						"already");
		}
		port.js_owned[e.addr / cfg->frame_size] = 0;
		if (e.action != SU_ACTION_TRANSMIT && e.action != SU_ACTION_RECYCLE) {
			restore(i + 1);
			throw MakeError(env, "ERR_INVALID_FRAME",
					"Expected action transmit or recycle for " + where +
						" but received " + std::to_string(e.action));
		}
		if (e.action == SU_ACTION_TRANSMIT &&
		    (e.len == 0 || uint64_t{ e.addr % cfg->frame_size } + e.len > cfg->frame_size)) {
			restore(i + 1);
			throw MakeError(env, "ERR_INVALID_FRAME",
					"Expected a length from 1 to " +
						std::to_string(cfg->frame_size - e.addr % cfg->frame_size) +
						" for " + where + " but received " +
						std::to_string(e.len));
		}
	}
	for (uint32_t i = 0; i < count; i++)
		descs[i] = { entries[i].addr, entries[i].len, entries[i].action };
	return su_queue_submit(jq.queue, descs, count);
}

uint32_t AllocateExchange(PortWrap &port, JsQueue &jq, uint32_t count)
{
	const struct su_port_config *cfg = su_port_config(port.port);
	uint64_t addrs[1024];
	uint32_t n = su_queue_alloc(jq.queue, addrs,
				    std::min<uint32_t>({ count, jq.exchange_capacity, 1024 }));

	su_exchange_entry *entries = jq.exchange + SU_EXCHANGE_TX * jq.exchange_capacity;

	for (uint32_t i = 0; i < n; i++) {
		port.js_owned[addrs[i] / cfg->frame_size] = 1;
		// The packet starts after the configured headroom, as received ones do.
		entries[i] = { static_cast<uint32_t>(addrs[i] + cfg->frame_headroom),
				   cfg->frame_size - cfg->frame_headroom, SU_ACTION_TRANSMIT, 0 };
	}
	return n;
}

}  // namespace su
