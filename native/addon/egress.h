// Connections whose source is a shared address and a port from this host's slice of it, for
// src/egress.ts. Registered on the addon's exports by addon.cc.
#pragma once
#include <napi.h>

namespace su {

// Adds `egressConnect(spec) => Promise<fd>` to `exports`: a socket bound to spec.source, its port
// chosen by the kernel inside [spec.from, spec.to]; TCP connected to spec.host:spec.port, UDP
// left for dgram to connect. The JS thread never waits: pending TCP connects are watched by one
// poller thread per Node environment.
void EgressInit(Napi::Env env, Napi::Object exports);

}  // namespace su
