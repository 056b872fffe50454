// The JS class NativeNetlink: requests to the kernel's routing and neighbour tables and a
// follower of their changes (softunicast/netlink.h). Only src/router/next-hops.ts uses it.
#pragma once
#include <napi.h>

#include <vector>

extern "C" {
#include "softunicast/netlink.h"
}

namespace su {

class NetlinkWrap;

using NetlinkBatch = std::vector<su_nl_event>;
void CallJsWithEvents(Napi::Env env, Napi::Function callback, NetlinkWrap *self, NetlinkBatch *batch);
using EventDoorbell = Napi::TypedThreadSafeFunction<NetlinkWrap, NetlinkBatch, CallJsWithEvents>;

class NetlinkWrap : public Napi::ObjectWrap<NetlinkWrap> {
public:
	static Napi::Function Define(Napi::Env env);
	explicit NetlinkWrap(const Napi::CallbackInfo &info);
	~NetlinkWrap() override;

	// Stops the follower (no event is delivered after this) and closes the sockets; what the
	// environment's cleanup hook calls. Idempotent.
	void Stop();
	// Stop(), and lets the doorbell go (the wrapper can be collected then). Idempotent.
	void Close();
	bool closed() const { return nl_ == nullptr; }

private:
	Napi::Value Follow(const Napi::CallbackInfo &info);
	Napi::Value RouteGet(const Napi::CallbackInfo &info);
	Napi::Value NeighGet(const Napi::CallbackInfo &info);
	Napi::Value NeighUse(const Napi::CallbackInfo &info);
	Napi::Value LinkGet(const Napi::CallbackInfo &info);
	Napi::Value CloseMethod(const Napi::CallbackInfo &info);
	static Napi::Value InterfaceIndex(const Napi::CallbackInfo &info);
	static Napi::Value InterfaceName(const Napi::CallbackInfo &info);

	static void Deliver(void *ctx, const su_nl_event *events, uint32_t n);
	void ThrowIfClosed(Napi::Env env);

	su_nl *nl_ = nullptr;
	su_nl_follower *follower_ = nullptr;
	EventDoorbell doorbell_;
	bool released_ = false;
};

}  // namespace su
