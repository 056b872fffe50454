// NativeRouter: installs the C fast path on a NativePort's queues, publishes SliceView tables to
// it and reads its fate counters. Validation and naming live in src/router/router.ts.
#include "router_wrap.h"

#include <cstring>
#include <string>
#include <vector>

#include "errors.h"
#include "port_wrap.h"
#include "slice_view.h"

namespace su {

Napi::Function RouterWrap::Define(Napi::Env env)
{
	return DefineClass(env, "NativeRouter",
			   { InstanceMethod<&RouterWrap::Publish>("publish"),
			     InstanceMethod<&RouterWrap::RetiredTables>("retiredTables"),
			     InstanceMethod<&RouterWrap::Generation>("generation"),
			     InstanceMethod<&RouterWrap::Counters>("counters"),
			     InstanceMethod<&RouterWrap::XdpCounters>("xdpCounters"),
			     InstanceMethod<&RouterWrap::SetMode>("setMode"),
			     InstanceMethod<&RouterWrap::Explain>("explain"),
			     InstanceMethod<&RouterWrap::SetNextHop>("setNextHop"),
			     InstanceMethod<&RouterWrap::OwnerCounters>("ownerCounters"),
			     InstanceMethod<&RouterWrap::TakeFinished>("takeFinished"),
			     InstanceMethod<&RouterWrap::CaptureStart>("captureStart"),
			     InstanceMethod<&RouterWrap::CaptureStop>("captureStop"),
			     InstanceMethod<&RouterWrap::CaptureDrain>("captureDrain"),
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
	su_error err{};

	if (su_router_publish(router_, view, &err))
		throw MakeError(info.Env(), err);
	return Napi::Number::New(info.Env(), su_router_retired_count(router_));
}

// Replaced tables a worker may still read; the router frees them itself (native/router/reclaim.c).
Napi::Value RouterWrap::RetiredTables(const Napi::CallbackInfo &info)
{
	return Napi::Number::New(info.Env(), router_ ? su_router_retired_count(router_) : 0);
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

// The XDP lane's fates, summed over CPUs (zeros without an XDP program).
Napi::Value RouterWrap::XdpCounters(const Napi::CallbackInfo &info)
{
	uint64_t values[SU_ROUTE_COUNTER_COUNT];
	Napi::Float64Array out = Napi::Float64Array::New(info.Env(), SU_ROUTE_COUNTER_COUNT);
	su_error err{};

	ThrowIfClosed(info.Env());
	if (su_router_xdp_counters(router_, values, &err))
		throw MakeError(info.Env(), err);
	for (int c = 0; c < SU_ROUTE_COUNTER_COUNT; c++)
		out[c] = static_cast<double>(values[c]);
	return out;
}

// setMode(mode): SU_MODE_EXPRESS or SU_MODE_AFXDP, from the next publish on.
Napi::Value RouterWrap::SetMode(const Napi::CallbackInfo &info)
{
	su_error err{};

	ThrowIfClosed(info.Env());
	if (su_router_set_mode(router_, info[0].As<Napi::Number>().Uint32Value(), &err))
		throw MakeError(info.Env(), err);
	return info.Env().Undefined();
}

// setNextHop(owner, mac: Uint8Array of 6): su_router_set_next_hop.
Napi::Value RouterWrap::SetNextHop(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	su_error err{};

	ThrowIfClosed(env);
	Napi::Uint8Array mac = info[1].As<Napi::Uint8Array>();
	if (mac.ByteLength() != 6)
		throw MakeError(env, "ERR_INVALID_OPTION",
				"Expected a MAC address of 6 bytes but received " +
					std::to_string(mac.ByteLength()));
	if (su_router_set_next_hop(router_, info[0].As<Napi::Number>().Uint32Value(), mac.Data(), &err))
		throw MakeError(env, err);
	return env.Undefined();
}

// explain(frame: Uint8Array): { fate, output, owner }: what the router would do with the frame
// (su_router_explain); the caller's bytes stay as they are, output is a fresh copy (null when
// the frame is dropped), owner the image's owner index or -1.
Napi::Value RouterWrap::Explain(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	ThrowIfClosed(env);
	Napi::Uint8Array frame = info[0].As<Napi::Uint8Array>();
	if (frame.ByteLength() > UINT16_MAX)
		throw MakeError(env, "ERR_INVALID_OPTION",
				"Expected a frame of at most 65535 bytes but received " +
					std::to_string(frame.ByteLength()) + " bytes");
	std::vector<uint8_t> buf(kExplainHeadroom + frame.ByteLength());
	uint32_t len = static_cast<uint32_t>(frame.ByteLength()), offset, owner;
	if (len)
		memcpy(buf.data() + kExplainHeadroom, frame.Data(), len);
	enum su_route_counter fate =
		su_router_explain(router_, buf.data(), kExplainHeadroom, &len, &offset, &owner);
	Napi::Object out = Napi::Object::New(env);
	out.Set("fate", FateName(fate));
	if (SU_ROUTE_TRANSMITS(fate) || SU_ROUTE_PASSES(fate)) {
		Napi::Uint8Array output = Napi::Uint8Array::New(env, len);
		memcpy(output.Data(), buf.data() + offset, len);
		out.Set("output", output);
	} else {
		out.Set("output", env.Null());
	}
	out.Set("owner", Napi::Number::New(env, owner == SU_OWNER_NONE ? -1.0 : owner));
	return out;
}

namespace {

// u64 counters as doubles: exact below 2^53, which no counter reaches.
Napi::Float64Array ToFloat64(Napi::Env env, const uint64_t *values, size_t n)
{
	Napi::Float64Array out = Napi::Float64Array::New(env, n);

	for (size_t i = 0; i < n; i++)
		out[i] = static_cast<double>(values[i]);
	return out;
}

}  // namespace

// The table in use: { generation, counters: Float64Array [owner][SU_OWNER_STATS] }.
Napi::Value RouterWrap::OwnerCounters(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	Napi::Object out = Napi::Object::New(env);

	ThrowIfClosed(env);
	uint32_t owners = su_router_owner_count(router_);
	std::vector<uint64_t> values((size_t)owners * SU_OWNER_STATS);
	su_router_owner_counters(router_, values.data());
	out.Set("generation", Napi::Number::New(env, static_cast<double>(su_router_generation(router_))));
	out.Set("counters", ToFloat64(env, values.data(), values.size()));
	return out;
}

// Tables no worker reads any more: [{ generation, counters }], each handed out once.
Napi::Value RouterWrap::TakeFinished(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	su_router_finished finished[SU_ROUTER_FINISHED_MAX];
	Napi::Array out = Napi::Array::New(env);

	if (!router_)
		return out;
	uint32_t n = su_router_take_finished(router_, finished, SU_ROUTER_FINISHED_MAX);
	for (uint32_t i = 0; i < n; i++) {
		Napi::Object t = Napi::Object::New(env);

		t.Set("generation", Napi::Number::New(env, static_cast<double>(finished[i].generation)));
		t.Set("counters", ToFloat64(env, finished[i].counters,
					    (size_t)finished[i].owner_count * SU_OWNER_STATS));
		free(finished[i].counters);
		out.Set(i, t);
	}
	return out;
}

Napi::Value RouterWrap::CaptureStart(const Napi::CallbackInfo &info)
{
	su_error err{};

	ThrowIfClosed(info.Env());
	if (su_router_capture_start(router_, info[0].As<Napi::Number>().Uint32Value(), &err))
		throw MakeError(info.Env(), err);
	return info.Env().Undefined();
}

Napi::Value RouterWrap::CaptureStop(const Napi::CallbackInfo &info)
{
	if (router_)
		su_router_capture_stop(router_);
	return info.Env().Undefined();
}

// { records: Buffer of struct su_capture_record + data, lost: number }.
Napi::Value RouterWrap::CaptureDrain(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	Napi::Object out = Napi::Object::New(env);
	uint64_t lost = 0;
	uint32_t copied = 0;
	std::vector<uint8_t> buf;

	if (router_) {
		buf.resize((size_t)SU_CAPTURE_RING_BYTES * su_port_queue_count(port_->port));
		copied = su_router_capture_drain(router_, buf.data(), (uint32_t)buf.size(), &lost);
	}
	out.Set("records", Napi::Buffer<uint8_t>::Copy(env, buf.data(), copied));
	out.Set("lost", Napi::Number::New(env, static_cast<double>(lost)));
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
