// The JS class NativeRouter: the C fast path (softunicast/router.h) on the queues of one
// NativePort. Only src/router/router.ts uses it.
#pragma once
#include <napi.h>

extern "C" {
#include "softunicast/router.h"
}

namespace su {

class PortWrap;

class RouterWrap : public Napi::ObjectWrap<RouterWrap> {
public:
	static Napi::Function Define(Napi::Env env);
	explicit RouterWrap(const Napi::CallbackInfo &info);
	~RouterWrap() override;

private:
	Napi::Value Publish(const Napi::CallbackInfo &info);
	Napi::Value RetiredTables(const Napi::CallbackInfo &info);
	Napi::Value Generation(const Napi::CallbackInfo &info);
	Napi::Value Counters(const Napi::CallbackInfo &info);
	Napi::Value XdpCounters(const Napi::CallbackInfo &info);
	Napi::Value SetMode(const Napi::CallbackInfo &info);
	Napi::Value Explain(const Napi::CallbackInfo &info);
	Napi::Value SetNextHop(const Napi::CallbackInfo &info);
	Napi::Value OwnerCounters(const Napi::CallbackInfo &info);
	Napi::Value TakeFinished(const Napi::CallbackInfo &info);
	Napi::Value CaptureStart(const Napi::CallbackInfo &info);
	Napi::Value CaptureStop(const Napi::CallbackInfo &info);
	Napi::Value CaptureDrain(const Napi::CallbackInfo &info);
	Napi::Value CloseMethod(const Napi::CallbackInfo &info);

	void ThrowIfClosed(Napi::Env env);

	// Holds the port object: the workers read the router, so the port (and its su_port) must
	// outlive it; the router is freed only after the port is closed.
	Napi::ObjectReference port_ref_;
	PortWrap *port_ = nullptr;
	su_router *router_ = nullptr;
};

}  // namespace su
