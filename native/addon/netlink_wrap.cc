// NativeNetlink: route lookups, neighbour reads and probes answered synchronously on the JS
// thread (each a netlink round trip of microseconds), and the follower's batches of changes
// delivered to a JS callback through a thread-safe function. Policy lives in
// src/router/next-hops.ts.
#include "netlink_wrap.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <string.h>

#include <string>

#include "errors.h"
#include "instance.h"

namespace su {

namespace {

struct Address {
	int family;
	uint8_t bytes[SU_NL_ADDR_MAX];
};

Address ParseAddress(Napi::Env env, const Napi::Value &value)
{
	Address a{};
	std::string text = value.IsString() ? value.As<Napi::String>().Utf8Value() : "";

	a.family = text.find(':') == std::string::npos ? AF_INET : AF_INET6;
	if (inet_pton(a.family, text.c_str(), a.bytes) != 1)
		throw MakeError(env, "ERR_INVALID_OPTION",
				"Expected an IPv4 or IPv6 address for address but received '" + text + "'");
	return a;
}

Napi::Value AddressText(Napi::Env env, int family, const uint8_t *bytes)
{
	char text[INET6_ADDRSTRLEN];

	if (!inet_ntop(family, bytes, text, sizeof(text)))
		return env.Null();
	return Napi::String::New(env, text);
}

Napi::Value MacText(Napi::Env env, const uint8_t *bytes, uint8_t len)
{
	static const char hex[] = "0123456789abcdef";
	std::string text;

	if (len == 0)
		return env.Null();
	for (uint8_t i = 0; i < len; i++) {
		if (i)
			text += ':';
		text += hex[bytes[i] >> 4];
		text += hex[bytes[i] & 15];
	}
	return Napi::String::New(env, text);
}

// The kernel's answer as JS sees it: null, or the errno's name ('ENETUNREACH', ...).
Napi::Value ErrnoName(Napi::Env env, int e)
{
	const char *name = e ? strerrorname_np(e) : nullptr;

	if (!e)
		return env.Null();
	return Napi::String::New(env, name ? name : "E" + std::to_string(e));
}

uint32_t Index(const Napi::Value &value)
{
	return value.IsNumber() ? value.As<Napi::Number>().Uint32Value() : 0;
}

Napi::Object NeighObject(Napi::Env env, const su_nl_neigh &n)
{
	Napi::Object o = Napi::Object::New(env);

	o.Set("family", n.family == AF_INET ? 4 : 6);
	o.Set("ifindex", n.ifindex);
	o.Set("address", AddressText(env, n.family, n.addr));
	o.Set("state", n.state);
	o.Set("flags", n.flags);
	o.Set("lladdr", MacText(env, n.lladdr, n.lladdr_len));
	o.Set("deleted", n.deleted != 0);
	return o;
}

Napi::Object EventObject(Napi::Env env, const su_nl_event &ev)
{
	Napi::Object o;

	switch (ev.kind) {
	case SU_NL_EVENT_NEIGH:
		o = NeighObject(env, ev.neigh);
		o.Set("kind", "neigh");
		return o;
	case SU_NL_EVENT_LINK:
		o = Napi::Object::New(env);
		o.Set("kind", "link");
		o.Set("ifindex", ev.link.ifindex);
		o.Set("flags", ev.link.flags);
		o.Set("deleted", ev.link.deleted != 0);
		return o;
	case SU_NL_EVENT_ROUTE:
		o = Napi::Object::New(env);
		o.Set("kind", "route");
		return o;
	default:
		o = Napi::Object::New(env);
		o.Set("kind", "overrun");
		return o;
	}
}

}  // namespace

void CallJsWithEvents(Napi::Env env, Napi::Function callback, NetlinkWrap *self, NetlinkBatch *batch)
{
	// A batch queued just before close() finds the wrapper closed: nobody wants it any more.
	if (env != nullptr && !self->closed()) {
		Napi::Array events = Napi::Array::New(env, batch->size());

		for (size_t i = 0; i < batch->size(); i++)
			events.Set(i, EventObject(env, (*batch)[i]));
		delete batch;
		batch = nullptr;
		// An exception from the callback becomes the process's uncaught exception.
		callback.Call({ events });
	}
	delete batch;
}

Napi::Function NetlinkWrap::Define(Napi::Env env)
{
	return DefineClass(env, "NativeNetlink",
			   { InstanceMethod<&NetlinkWrap::Follow>("follow"),
			     InstanceMethod<&NetlinkWrap::RouteGet>("routeGet"),
			     InstanceMethod<&NetlinkWrap::NeighGet>("neighGet"),
			     InstanceMethod<&NetlinkWrap::NeighUse>("neighUse"),
			     InstanceMethod<&NetlinkWrap::LinkGet>("linkGet"),
			     InstanceMethod<&NetlinkWrap::CloseMethod>("close"),
			     StaticMethod<&NetlinkWrap::InterfaceIndex>("interfaceIndex"),
			     StaticMethod<&NetlinkWrap::InterfaceName>("interfaceName") });
}

// new NativeNetlink(onEvents): the request socket, and the doorbell that follow() rings.
// Nothing can fail once the doorbell exists, so a failed constructor leaves nothing behind.
NetlinkWrap::NetlinkWrap(const Napi::CallbackInfo &info) : Napi::ObjectWrap<NetlinkWrap>(info)
{
	Napi::Env env = info.Env();
	su_error err{};

	if (!info[0].IsFunction())
		throw MakeError(env, "ERR_INVALID_OPTION", "Expected a function for onEvents");
	if (su_nl_open(&nl_, &err))
		throw MakeError(env, err);
	// The doorbell keeps the wrapper alive until it is finalized (after close()): a batch
	// queued just before close() must still find it. Unref'd: following the kernel's tables
	// never keeps the process alive by itself.
	Ref();
	doorbell_ = EventDoorbell::New(env, info[0].As<Napi::Function>(), "softunicast-netlink", 0, 1,
				       this, [](Napi::Env, void *, NetlinkWrap *self) { self->Unref(); });
	doorbell_.Unref(env);
	Instance::Get(env).open_netlinks.insert(this);
}

// follow(ifindex): starts the follower; ifindex filters neighbour and link events (0: all).
Napi::Value NetlinkWrap::Follow(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	su_error err{};

	ThrowIfClosed(env);
	if (follower_)
		throw MakeError(env, "ERR_INVALID_OPTION", "The netlink follower runs already");
	if (su_nl_follower_start(Index(info[0]), Deliver, this, &follower_, &err))
		throw MakeError(env, err);
	return env.Undefined();
}

NetlinkWrap::~NetlinkWrap()
{
	// Reached after the doorbell was finalized (after Close()), or at the environment's end.
	Stop();
}

void NetlinkWrap::Deliver(void *ctx, const su_nl_event *events, uint32_t n)
{
	NetlinkWrap *self = static_cast<NetlinkWrap *>(ctx);
	NetlinkBatch *batch = new NetlinkBatch(events, events + n);

	// Fails only while the environment shuts down: then nobody is listening.
	if (self->doorbell_.NonBlockingCall(batch) != napi_ok)
		delete batch;
}

void NetlinkWrap::Stop()
{
	if (!nl_)
		return;
	su_nl_follower_stop(follower_);  // joins the thread: nothing rings the doorbell after this
	follower_ = nullptr;
	su_nl_close(nl_);
	nl_ = nullptr;
}

void NetlinkWrap::Close()
{
	Stop();
	if (released_)
		return;
	released_ = true;
	doorbell_.Release();
}

void NetlinkWrap::ThrowIfClosed(Napi::Env env)
{
	if (!nl_)
		throw MakeError(env, "ERR_CLOSED", "The netlink follower is closed");
}

// routeGet(address) -> { error, type, oif, gateway }: how the kernel would send to address.
Napi::Value NetlinkWrap::RouteGet(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	Address a = ParseAddress(env, info[0]);
	Napi::Object o = Napi::Object::New(env);
	su_nl_route r{};
	su_error err{};

	ThrowIfClosed(env);
	if (su_nl_route_get(nl_, a.family, a.bytes, &r, &err))
		throw MakeError(env, err);
	o.Set("error", ErrnoName(env, r.error));
	o.Set("type", r.type);
	o.Set("oif", r.oif);
	o.Set("gateway", r.gw_family == AF_UNSPEC ? env.Null() : AddressText(env, r.gw_family, r.gateway));
	return o;
}

// neighGet(ifindex, address) -> { error, state, flags, lladdr, ... }.
Napi::Value NetlinkWrap::NeighGet(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	Address a = ParseAddress(env, info[1]);
	su_nl_neigh n{};
	su_error err{};
	int answer = 0;

	ThrowIfClosed(env);
	if (su_nl_neigh_get(nl_, a.family, Index(info[0]), a.bytes, &n, &answer, &err))
		throw MakeError(env, err);
	Napi::Object o = answer ? Napi::Object::New(env) : NeighObject(env, n);
	o.Set("error", ErrnoName(env, answer));
	return o;
}

// neighUse(ifindex, address) -> null, or the errno's name the kernel answered with.
Napi::Value NetlinkWrap::NeighUse(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	Address a = ParseAddress(env, info[1]);
	su_error err{};
	int answer = 0;

	ThrowIfClosed(env);
	if (su_nl_neigh_use(nl_, a.family, Index(info[0]), a.bytes, &answer, &err))
		throw MakeError(env, err);
	return ErrnoName(env, answer);
}

// linkGet(ifindex) -> { error, flags }.
Napi::Value NetlinkWrap::LinkGet(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	Napi::Object o = Napi::Object::New(env);
	su_nl_link l{};
	su_error err{};
	int answer = 0;

	ThrowIfClosed(env);
	if (su_nl_link_get(nl_, Index(info[0]), &l, &answer, &err))
		throw MakeError(env, err);
	o.Set("error", ErrnoName(env, answer));
	o.Set("flags", l.flags);
	return o;
}

Napi::Value NetlinkWrap::CloseMethod(const Napi::CallbackInfo &info)
{
	Instance::Get(info.Env()).open_netlinks.erase(this);
	Close();
	return info.Env().Undefined();
}

// interfaceIndex(name) -> its index in this network namespace, 0 when there is none.
Napi::Value NetlinkWrap::InterfaceIndex(const Napi::CallbackInfo &info)
{
	std::string name = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";

	return Napi::Number::New(info.Env(), if_nametoindex(name.c_str()));
}

// interfaceName(index) -> its name, null when there is none.
Napi::Value NetlinkWrap::InterfaceName(const Napi::CallbackInfo &info)
{
	char name[IF_NAMESIZE];

	if (!if_indextoname(Index(info[0]), name))
		return info.Env().Null();
	return Napi::String::New(info.Env(), name);
}

}  // namespace su
