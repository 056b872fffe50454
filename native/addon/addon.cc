// Module entry of softunicast.node: the NativePort class, the ABI the binary was built with (so
// that src/native.ts can refuse a stale binary), and helpers that need no port.
#include <malloc.h>
#include <napi.h>

#include "egress.h"
#include "router_wrap.h"
#include "sk_lookup_wrap.h"
#include "errors.h"
#include "instance.h"
#include "netlink_wrap.h"
#include "port_wrap.h"
#include "slice_view.h"

namespace su {
namespace {

Napi::Array Names(Napi::Env env, std::initializer_list<const char *> names)
{
	Napi::Array out = Napi::Array::New(env, names.size());
	uint32_t i = 0;
	for (const char *n : names)
		out.Set(i++, n);
	return out;
}

Napi::Object Abi(Napi::Env env)
{
	Napi::Object abi = Napi::Object::New(env);
#define SU_X(name, doc) #name,
	abi.Set("abiVersion", SU_ABI_VERSION);
	abi.Set("steerCounters", Names(env, { SU_STEER_COUNTERS(SU_X) }));
	abi.Set("queueCounters", Names(env, { SU_QUEUE_COUNTERS(SU_X) }));
	abi.Set("errorCodes", Names(env, { SU_ERROR_CODES(SU_X) }));
#undef SU_X
	abi.Set("captureRuleSize", static_cast<double>(sizeof(su_capture_rule)));
	abi.Set("exchangeEntrySize", static_cast<double>(sizeof(su_exchange_entry)));
	return abi;
}

Napi::Value SetErrorFactoryJs(const Napi::CallbackInfo &info)
{
	SetErrorFactory(info.Env(), info[0].As<Napi::Function>());
	return info.Env().Undefined();
}

Napi::Value RxQueueCount(const Napi::CallbackInfo &info)
{
	std::string ifname = info[0].As<Napi::String>().Utf8Value();
	uint32_t count = 0;
	su_error err{};

	if (su_iface_rx_queue_count(ifname.c_str(), &count, &err))
		throw MakeError(info.Env(), err);
	return Napi::Number::New(info.Env(), count);
}

// removePinned(dir): unpins a port's link and maps (softunicast/xsk_port.h, su_pin_remove).
Napi::Value RemovePinned(const Napi::CallbackInfo &info)
{
	std::string dir = info[0].As<Napi::String>().Utf8Value();
	su_error err{};

	if (su_pin_remove(dir.c_str(), &err))
		throw MakeError(info.Env(), err);
	return info.Env().Undefined();
}

// Process exit, or a worker_threads Worker ending, without close(): stop our threads before
// the environment they call into is gone. The kernel would free the rest anyway.
void Cleanup(void *arg)
{
	Instance *inst = static_cast<Instance *>(arg);
	for (PortWrap *p : inst->open_ports)
		su_port_close(p->port);
	inst->open_ports.clear();
	for (NetlinkWrap *n : inst->open_netlinks)
		n->Stop();
	inst->open_netlinks.clear();
}

}  // namespace
}  // namespace su

static Napi::Object Init(Napi::Env env, Napi::Object exports)
{
	using namespace su;

	// Tables are large (a million slices: tens of MB) and come and go with every publish. glibc
	// raises its mmap threshold to the size of each large block freed, up to 32 MiB, after
	// which such tables come from the heap, whose freed middle it never gives back: the process
	// grew by a table's size every few publishes. A fixed threshold keeps large blocks mapped,
	// returned to the system when freed.
	static bool threshold_set = mallopt(M_MMAP_THRESHOLD, 1 << 20) == 1;
	(void)threshold_set;

	Instance *inst = new Instance();
	env.SetInstanceData(inst);
	napi_add_env_cleanup_hook(env, Cleanup, inst);

	exports.Set("NativePort", PortWrap::Define(env));
	exports.Set("abi", Abi(env));
	exports.Set("setErrorFactory", Napi::Function::New(env, SetErrorFactoryJs));
	exports.Set("rxQueueCount", Napi::Function::New(env, RxQueueCount));
	exports.Set("removePinned", Napi::Function::New(env, RemovePinned));
	exports.Set("SliceView", SliceView::Define(env));
	exports.Set("NativeRouter", RouterWrap::Define(env));
	exports.Set("NativeNetlink", NetlinkWrap::Define(env));
	exports.Set("NativeSkLookup", SkLookupWrap::Define(env));
	EgressInit(env, exports);
	return exports;
}

NODE_API_MODULE(softunicast, Init)
