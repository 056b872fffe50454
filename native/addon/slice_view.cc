// SliceView: builds an su_view from a table image (src/slices/compile.ts) and explains packets
// with su_core_route; see slice_view.h.
#include "slice_view.h"

#include <cstring>
#include <string>
#include <vector>

#include "errors.h"

namespace su {

namespace {

// Marks objects made by our constructor, so that TakeView never unwraps a look-alike.
const napi_type_tag kSliceViewTag = { 0x736f6674756e6963ULL, 0x736c69636576696eULL };

const char *const kFateNames[] = {
#define SU_X(name, doc) #name,
	SU_ROUTE_COUNTERS(SU_X)
#undef SU_X
};

bool IsUint8Array(const Napi::Value &v)
{
	return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array;
}

// The "received" part of "Expected X for Y but received Z" (as describe() in src/errors.ts,
// coarser: the TypeScript callers validate first).
std::string Describe(const Napi::Value &v)
{
	switch (v.Type()) {
	case napi_undefined: return "undefined";
	case napi_null: return "null";
	case napi_boolean: return v.As<Napi::Boolean>().Value() ? "true" : "false";
	case napi_number: return v.ToString().Utf8Value();
	case napi_string: return "a string";
	case napi_bigint: return "a bigint";
	case napi_function: return "a function";
	case napi_symbol: return "a symbol";
	default: return v.IsTypedArray() ? "another typed array" : "an object";
	}
}

}  // namespace

Napi::Function SliceView::Define(Napi::Env env)
{
	return DefineClass(env, "SliceView",
			   { InstanceMethod<&SliceView::Generation>("generation"),
			     InstanceMethod<&SliceView::Explain>("explain"),
			     InstanceMethod<&SliceView::Release>("release") });
}

SliceView::SliceView(const Napi::CallbackInfo &info) : Napi::ObjectWrap<SliceView>(info)
{
	Napi::Env env = info.Env();
	su_error err{};

	if (!IsUint8Array(info[0]))
		throw MakeError(env, "ERR_INVALID_OPTION",
				"Expected a Uint8Array for image but received " + Describe(info[0]));
	Napi::Uint8Array image = info[0].As<Napi::Uint8Array>();
	if (su_view_build(image.Data(), image.ByteLength(), &view_, &err))
		throw MakeError(env, err);
	external_bytes_ = static_cast<int64_t>(su_view_memory(view_));
	Napi::MemoryManagement::AdjustExternalMemory(env, external_bytes_);
	info.This().As<Napi::Object>().TypeTag(&kSliceViewTag);
}

SliceView::~SliceView()
{
	Drop("freed");
}

void SliceView::Drop(const char *why)
{
	if (!view_)
		return;
	su_view_free(view_);
	view_ = nullptr;
	gone_ = why;
	Napi::MemoryManagement::AdjustExternalMemory(Env(), -external_bytes_);
	external_bytes_ = 0;
}

su_view *SliceView::Take(Napi::Env env)
{
	su_view *view = view_;

	Get(env);  // throws when already gone
	view_ = nullptr;
	gone_ = "handed to a router";
	Napi::MemoryManagement::AdjustExternalMemory(env, -external_bytes_);
	external_bytes_ = 0;
	return view;
}

const su_view *SliceView::Get(Napi::Env env)
{
	if (!view_)
		throw MakeError(env, "ERR_CLOSED", std::string("The SliceView was ") + gone_);
	return view_;
}

Napi::Value SliceView::Generation(const Napi::CallbackInfo &info)
{
	return Napi::BigInt::New(info.Env(), su_view_generation(Get(info.Env())));
}

// explain(frame: Uint8Array, asXdp?: boolean): { fate, output }. The frame is copied: the
// caller's bytes stay as they are, and `output` is a fresh copy of the rewritten frame (null when
// it is dropped). asXdp: decided as the XDP program decides (softunicast/core.h,
// su_core_route_as_xdp): packets for the kernel keep their fates, and `output` is the frame the
// kernel gets (unwrapped from GUE for decap_local); otherwise as a worker (drop_local).
Napi::Value SliceView::Explain(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	const su_view *view = Get(env);

	if (!IsUint8Array(info[0]))
		throw MakeError(env, "ERR_INVALID_OPTION",
				"Expected a Uint8Array for frame but received " + Describe(info[0]));
	Napi::Uint8Array frame = info[0].As<Napi::Uint8Array>();
	if (frame.ByteLength() > UINT32_MAX - kExplainHeadroom)
		throw MakeError(env, "ERR_INVALID_OPTION",
				"Expected at most 4 GiB for frame but received " +
					std::to_string(frame.ByteLength()) + " bytes");

	std::vector<uint8_t> buf(kExplainHeadroom + frame.ByteLength());
	uint8_t *data = buf.data() + kExplainHeadroom;
	uint32_t len = static_cast<uint32_t>(frame.ByteLength());
	if (len)
		memcpy(data, frame.Data(), len);
	bool as_xdp = info.Length() > 1 && info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
	uint32_t owner;
	enum su_route_counter fate =
		as_xdp ? su_core_route_as_xdp(view, nullptr, &data, &len, kExplainHeadroom, &owner)
		       : su_core_route(view, &data, &len, kExplainHeadroom);

	Napi::Object out = Napi::Object::New(env);
	out.Set("fate", FateName(fate));
	if (SU_ROUTE_TRANSMITS(fate) ||
	    (as_xdp && (SU_ROUTE_PASSES(fate) || fate == SU_ROUTE_decap_local))) {
		Napi::Uint8Array output = Napi::Uint8Array::New(env, len);
		memcpy(output.Data(), data, len);
		out.Set("output", output);
	} else {
		out.Set("output", env.Null());
	}
	return out;
}

// release(): frees the table now instead of at garbage collection. Idempotent.
Napi::Value SliceView::Release(const Napi::CallbackInfo &info)
{
	Drop("released");
	return info.Env().Undefined();
}

const char *FateName(enum su_route_counter fate)
{
	return kFateNames[fate];
}

su_view *TakeView(Napi::Env env, Napi::Object slice_view)
{
	if (!slice_view.CheckTypeTag(&kSliceViewTag))
		throw MakeError(env, "ERR_INVALID_OPTION",
				"Expected a SliceView but received " + Describe(slice_view));
	return SliceView::Unwrap(slice_view)->Take(env);
}

}  // namespace su
