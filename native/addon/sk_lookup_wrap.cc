// See sk_lookup_wrap.h. Arguments were validated by src/steer/ already: wrong types here are a
// bug of the library, reported as ERR_INVALID_OPTION.
#include "sk_lookup_wrap.h"

#include <cstring>
#include <vector>

#include "errors.h"

namespace su {

Napi::Function SkLookupWrap::Define(Napi::Env env)
{
	return DefineClass(env, "NativeSkLookup",
			   { InstanceMethod<&SkLookupWrap::Publish>("publish"),
			     InstanceMethod<&SkLookupWrap::SetSocket>("setSocket"),
			     InstanceMethod<&SkLookupWrap::ClearSocket>("clearSocket"),
			     InstanceMethod<&SkLookupWrap::Counters>("counters"),
			     InstanceMethod<&SkLookupWrap::Load>("load"),
			     InstanceMethod<&SkLookupWrap::Close>("close") });
}

// new NativeSkLookup(objectPath, netnsPath, countLoad)
SkLookupWrap::SkLookupWrap(const Napi::CallbackInfo &info) : Napi::ObjectWrap<SkLookupWrap>(info)
{
	std::string obj = info[0].As<Napi::String>().Utf8Value();
	std::string netns = info[1].As<Napi::String>().Utf8Value();
	bool count_load = info[2].As<Napi::Boolean>().Value();
	su_error err{};

	if (su_skl_open(obj.c_str(), netns.c_str(), count_load, &skl_, &err))
		throw MakeError(info.Env(), err);
}

SkLookupWrap::~SkLookupWrap()
{
	su_skl_close(skl_);
}

su_skl *SkLookupWrap::Live(Napi::Env env)
{
	if (!skl_)
		throw MakeError(env, "ERR_CLOSED", "The socket steering was closed");
	return skl_;
}

// publish(keys: Uint8Array, values: Uint8Array, n): n packed su_skl_key and su_skl_ranges.
Napi::Value SkLookupWrap::Publish(const Napi::CallbackInfo &info)
{
	su_skl *s = Live(info.Env());
	Napi::Uint8Array keys = info[0].As<Napi::Uint8Array>();
	Napi::Uint8Array values = info[1].As<Napi::Uint8Array>();
	uint32_t n = info[2].As<Napi::Number>().Uint32Value();
	su_error err{};

	if (keys.ByteLength() != n * sizeof(su_skl_key) || values.ByteLength() != n * sizeof(su_skl_ranges))
		throw MakeError(info.Env(), "ERR_INVALID_OPTION", "publish: buffer sizes do not match the count");
	// Copies: the typed arrays' memory need not be aligned for the structs.
	std::vector<su_skl_key> k(n);
	std::vector<su_skl_ranges> v(n);
	if (n) {
		memcpy(k.data(), keys.Data(), keys.ByteLength());
		memcpy(v.data(), values.Data(), values.ByteLength());
	}
	if (su_skl_publish(s, k.data(), v.data(), n, &err))
		throw MakeError(info.Env(), err);
	return info.Env().Undefined();
}

// setSocket(slot, fd)
Napi::Value SkLookupWrap::SetSocket(const Napi::CallbackInfo &info)
{
	su_skl *s = Live(info.Env());
	su_error err{};

	if (su_skl_socket_set(s, info[0].As<Napi::Number>().Uint32Value(),
			      info[1].As<Napi::Number>().Int32Value(), &err))
		throw MakeError(info.Env(), err);
	return info.Env().Undefined();
}

// clearSocket(slot)
Napi::Value SkLookupWrap::ClearSocket(const Napi::CallbackInfo &info)
{
	su_skl *s = Live(info.Env());
	su_error err{};

	if (su_skl_socket_clear(s, info[0].As<Napi::Number>().Uint32Value(), &err))
		throw MakeError(info.Env(), err);
	return info.Env().Undefined();
}

// counters(): Float64Array in SU_SKL_COUNTERS order.
Napi::Value SkLookupWrap::Counters(const Napi::CallbackInfo &info)
{
	su_skl *s = Live(info.Env());
	uint64_t c[SU_SKL_COUNTER_COUNT];
	su_error err{};

	if (su_skl_counters(s, c, &err))
		throw MakeError(info.Env(), err);
	Napi::Float64Array out = Napi::Float64Array::New(info.Env(), SU_SKL_COUNTER_COUNT);
	for (int i = 0; i < SU_SKL_COUNTER_COUNT; i++)
		out[i] = static_cast<double>(c[i]);
	return out;
}

// load(): { keys: Uint8Array of packed su_skl_load_key, counts: Float64Array }.
Napi::Value SkLookupWrap::Load(const Napi::CallbackInfo &info)
{
	su_skl *s = Live(info.Env());
	std::vector<su_skl_load_key> keys(SU_SKL_LOAD_MAX);
	std::vector<uint64_t> counts(SU_SKL_LOAD_MAX);
	uint32_t n = 0;
	su_error err{};

	if (su_skl_load(s, keys.data(), counts.data(), SU_SKL_LOAD_MAX, &n, &err))
		throw MakeError(info.Env(), err);
	Napi::Uint8Array k = Napi::Uint8Array::New(info.Env(), n * sizeof(su_skl_load_key));
	Napi::Float64Array c = Napi::Float64Array::New(info.Env(), n);
	if (n)
		memcpy(k.Data(), keys.data(), n * sizeof(su_skl_load_key));
	for (uint32_t i = 0; i < n; i++)
		c[i] = static_cast<double>(counts[i]);
	Napi::Object out = Napi::Object::New(info.Env());
	out.Set("keys", k);
	out.Set("counts", c);
	return out;
}

// close(): detaches the program; idempotent.
Napi::Value SkLookupWrap::Close(const Napi::CallbackInfo &info)
{
	su_skl_close(skl_);
	skl_ = nullptr;
	return info.Env().Undefined();
}

}  // namespace su
