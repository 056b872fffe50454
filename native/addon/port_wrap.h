// The JS class NativePort: one su_port and the per-queue bridges to JS. Only src/xdp/port.ts
// uses it; everything user-facing (validation, names, types) lives there.
#pragma once
#include <napi.h>

#include <atomic>
#include <memory>
#include <vector>

extern "C" {
#include "softunicast/xsk_port.h"
#include "softunicast/spsc_ring.h"
}

namespace su {

class PortWrap;

// A queue as JS sees it: batches travel worker -> `to_js` -> exchange buffer -> handler.
struct JsQueue {
	PortWrap *port = nullptr;
	su_queue *queue = nullptr;
	uint32_t index = 0;
	su_spsc_ring to_js{};
	// 1 while a TSFN call for this queue is pending or running: the worker posts at most one.
	std::atomic<uint32_t> scheduled{0};
	Napi::FunctionReference handler;  // JS thread only
	Napi::Reference<Napi::ArrayBuffer> exchange_ref;
	su_exchange_entry *exchange = nullptr;
	uint32_t exchange_capacity = 0;  // entries per area (batch_size)
};

void CallJs(Napi::Env env, Napi::Function unused, PortWrap *port, JsQueue *jq);
using Doorbell = Napi::TypedThreadSafeFunction<PortWrap, JsQueue, CallJs>;

class PortWrap : public Napi::ObjectWrap<PortWrap> {
public:
	static Napi::Function Define(Napi::Env env);
	explicit PortWrap(const Napi::CallbackInfo &info);
	~PortWrap() override;

	// Stops workers, detaches the program, frees the UMEM, invalidates the UMEM views.
	void Close(Napi::Env env);

	su_port *port = nullptr;
	Doorbell doorbell;
	std::vector<std::unique_ptr<JsQueue>> queues;
	// Frames JS holds, by frame number: a frame can only be given back once (JS thread only).
	std::vector<uint8_t> js_owned;

private:
	Napi::Value Info(const Napi::CallbackInfo &info);
	Napi::Value Umem(const Napi::CallbackInfo &info);
	Napi::Value Exchange(const Napi::CallbackInfo &info);
	Napi::Value Start(const Napi::CallbackInfo &info);
	Napi::Value SetCapture(const Napi::CallbackInfo &info);
	Napi::Value SetBatchHandler(const Napi::CallbackInfo &info);
	Napi::Value Submit(const Napi::CallbackInfo &info);
	Napi::Value Allocate(const Napi::CallbackInfo &info);
	Napi::Value QueueCounters(const Napi::CallbackInfo &info);
	Napi::Value KernelStats(const Napi::CallbackInfo &info);
	Napi::Value SteerCounters(const Napi::CallbackInfo &info);
	Napi::Value RefMethod(const Napi::CallbackInfo &info);
	Napi::Value UnrefMethod(const Napi::CallbackInfo &info);
	Napi::Value CloseMethod(const Napi::CallbackInfo &info);

	JsQueue &QueueArg(const Napi::CallbackInfo &info);
	void ThrowIfClosed(Napi::Env env);

	Napi::Reference<Napi::ArrayBuffer> umem_ref_;
};

// js_delivery.cc
void DeliverFromWorker(void *ctx, su_queue *queue, su_desc *descs, uint32_t n);
uint32_t SubmitExchange(Napi::Env env, PortWrap &port, JsQueue &jq, uint32_t area, uint32_t count);
uint32_t AllocateExchange(PortWrap &port, JsQueue &jq, uint32_t count);

}  // namespace su
