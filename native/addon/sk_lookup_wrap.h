// The JS class NativeSkLookup: socket steering's sk_lookup program in a network namespace
// (native/steer/sk_lookup.h). Only src/steer/steering.ts uses it.
#pragma once
#include <napi.h>

#include "../steer/sk_lookup.h"

namespace su {

class SkLookupWrap : public Napi::ObjectWrap<SkLookupWrap> {
public:
	static Napi::Function Define(Napi::Env env);
	explicit SkLookupWrap(const Napi::CallbackInfo &info);
	~SkLookupWrap() override;

private:
	Napi::Value Publish(const Napi::CallbackInfo &info);
	Napi::Value SetSocket(const Napi::CallbackInfo &info);
	Napi::Value ClearSocket(const Napi::CallbackInfo &info);
	Napi::Value Counters(const Napi::CallbackInfo &info);
	Napi::Value Load(const Napi::CallbackInfo &info);
	Napi::Value Close(const Napi::CallbackInfo &info);
	su_skl *Live(Napi::Env env);

	su_skl *skl_ = nullptr;
};

}  // namespace su
