// See errors.h.
#include "errors.h"

#include <cstring>

#include "instance.h"

namespace su {

void SetErrorFactory(Napi::Env env, Napi::Function factory)
{
	Instance::Get(env).error_factory = Napi::Persistent(factory);
}

Napi::Error MakeError(Napi::Env env, const su_error &err)
{
	Instance &inst = Instance::Get(env);

	if (inst.error_factory.IsEmpty()) {
		// Only reachable when the binary is loaded without src/native.ts.
		Napi::Error e = Napi::Error::New(env, err.message);
		e.Set("code", err.code);
		return e;
	}
	Napi::Value errnum = err.errnum ? Napi::Number::New(env, err.errnum) : env.Undefined();
	Napi::Value syscall = err.syscall[0] ? Napi::String::New(env, err.syscall) : env.Undefined();
	Napi::Value e = inst.error_factory.Call(
		{ Napi::String::New(env, err.code), Napi::String::New(env, err.message), errnum,
		  syscall });
	return Napi::Error(env, e);
}

Napi::Error MakeError(Napi::Env env, const char *code, const std::string &message)
{
	su_error err{};
	su_error_set(&err, code, 0, nullptr, "%s", message.c_str());
	return MakeError(env, err);
}

}  // namespace su
