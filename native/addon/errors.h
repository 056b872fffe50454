// Turns native errors into the error classes that src/errors.ts defines: native code never
// invents an error class of its own. Used by every addon file.
#pragma once
#include <napi.h>

#include "softunicast/error.h"

namespace su {

// Remembers the factory `(code, message, errno, syscall) => Error` from src/native.ts.
void SetErrorFactory(Napi::Env env, Napi::Function factory);
// Builds the JS error for `err` through the factory.
Napi::Error MakeError(Napi::Env env, const su_error &err);
// Shorthand for errors raised by the addon itself (wrong argument types from a JS caller).
Napi::Error MakeError(Napi::Env env, const char *code, const std::string &message);

}  // namespace su
