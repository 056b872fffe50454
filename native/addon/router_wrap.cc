// NativeRouter: installs the C fast path on a NativePort's queues, publishes SliceView tables to
// it and reads its fate counters. Validation and naming live in src/router/router.ts.
#include "router_wrap.h"

#include <string>

#include "errors.h"
#include "port_wrap.h"
#include "slice_view.h"

namespace su {

Napi::Function RouterWrap::Define(Napi::Env env)
{
	return DefineClass(env, "NativeRouter",
			   { InstanceMethod<&RouterWrap::Publish>("publish"),
			     InstanceMethod<&RouterWrap::Reclaim>("reclaim"),
			     InstanceMethod<&RouterWrap::Generation>("generation"),
			     InstanceMethod<&RouterWrap::Counters>("counters"),
			     InstanceMethod<&RouterWrap::CloseMethod>("close") });
}

RouterWrap::RouterWrap(const Napi::CallbackInfo &info) : Napi::ObjectWrap<RouterWrap>(info)
{
	Napi::Object port_obj = info[0].As<Napi::Object>();
	su_error err{};

	port_ = PortWrap::Unwrap(port_obj);
	port_ref_ = Napi::Persistent(port_obj);
	if (su_router_create(port_->port, &router_, &err))
		throw MakeError(info.Env(), err);
}

RouterWrap::~RouterWrap()
{
	if (!router_)
		return;
	// Collected without close(): stop the workers that read the router before freeing it.
	su_port_close(port_->port);
	su_router_free(router_);
}

void RouterWrap::ThrowIfClosed(Napi::Env env)
{
	if (!router_ || su_port_is_closed(port_->port))
		throw MakeError(env, "ERR_CLOSED", "The router is closed");
}

Napi::Value RouterWrap::Publish(const Napi::CallbackInfo &info)
{
	ThrowIfClosed(info.Env());
	su_view *view = TakeView(info.Env(), info[0].As<Napi::Object>());
	su_router_publish(router_, view);
	return Napi::Number::New(info.Env(), su_router_reclaim(router_));
}

Napi::Value RouterWrap::Reclaim(const Napi::CallbackInfo &info)
{
	return Napi::Number::New(info.Env(), router_ ? su_router_reclaim(router_) : 0);
}

Napi::Value RouterWrap::Generation(const Napi::CallbackInfo &info)
{
	ThrowIfClosed(info.Env());
	return Napi::BigInt::New(info.Env(), su_router_generation(router_));
}

Napi::Value RouterWrap::Counters(const Napi::CallbackInfo &info)
{
	uint64_t values[SU_ROUTE_COUNTER_COUNT];
	uint32_t index = info[0].As<Napi::Number>().Uint32Value();
	Napi::Float64Array out = Napi::Float64Array::New(info.Env(), SU_ROUTE_COUNTER_COUNT);

	if (!router_)
		throw MakeError(info.Env(), "ERR_CLOSED", "The router is closed");
	su_router_counters(router_, index, values);
	for (int c = 0; c < SU_ROUTE_COUNTER_COUNT; c++)
		out[c] = static_cast<double>(values[c]);  // exact below 2^53
	return out;
}

Napi::Value RouterWrap::CloseMethod(const Napi::CallbackInfo &info)
{
	if (!router_)
		return info.Env().Undefined();
	port_->Close(info.Env());  // joins the workers: nobody reads the router after this
	su_router_free(router_);
	router_ = nullptr;
	port_ref_.Reset();
	return info.Env().Undefined();
}

}  // namespace su
