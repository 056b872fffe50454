// NativePort: opens an su_port from options already validated by src/xdp/options.ts, and
// exposes its queues, counters and UMEM to src/xdp/port.ts.
#include "port_wrap.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "errors.h"
#include "instance.h"

namespace su {

namespace {

uint32_t U32(const Napi::Object &o, const char *key)
{
	return o.Get(key).As<Napi::Number>().Uint32Value();
}

bool Bool(const Napi::Object &o, const char *key)
{
	return o.Get(key).As<Napi::Boolean>().Value();
}

std::string Str(const Napi::Object &o, const char *key)
{
	return o.Get(key).As<Napi::String>().Utf8Value();
}

Napi::Float64Array ToFloat64Array(Napi::Env env, const uint64_t *values, size_t n)
{
	Napi::Float64Array out = Napi::Float64Array::New(env, n);
	for (size_t i = 0; i < n; i++)
		out[i] = static_cast<double>(values[i]);  // exact below 2^53: years at 100 Mpps
	return out;
}

// Copies a byte image of whole `T` structs into aligned storage: a Uint8Array may start at any
// byte offset of its buffer.
template <typename T>
std::vector<T> Structs(Napi::Env env, const Napi::Value &value, const char *what)
{
	Napi::Uint8Array bytes = value.As<Napi::Uint8Array>();

	if (bytes.ByteLength() % sizeof(T) != 0)
		throw MakeError(env, "ERR_INVALID_OPTION",
				std::string("Expected ") + what + " of whole " +
					std::to_string(sizeof(T)) + "-byte entries but received " +
					std::to_string(bytes.ByteLength()) + " bytes");
	std::vector<T> out(bytes.ByteLength() / sizeof(T));
	if (!out.empty())
		std::memcpy(out.data(), bytes.Data(), bytes.ByteLength());
	return out;
}

}  // namespace

Napi::Function PortWrap::Define(Napi::Env env)
{
	return DefineClass(env, "NativePort",
			   { InstanceMethod<&PortWrap::Info>("info"),
			     InstanceMethod<&PortWrap::Umem>("umem"),
			     InstanceMethod<&PortWrap::Exchange>("exchange"),
			     InstanceMethod<&PortWrap::Start>("start"),
			     InstanceMethod<&PortWrap::SetCapture>("setCapture"),
			     InstanceMethod<&PortWrap::SetBatchHandler>("setBatchHandler"),
			     InstanceMethod<&PortWrap::Submit>("submit"),
			     InstanceMethod<&PortWrap::Allocate>("allocate"),
			     InstanceMethod<&PortWrap::QueueCounters>("queueCounters"),
			     InstanceMethod<&PortWrap::KernelStats>("kernelStats"),
			     InstanceMethod<&PortWrap::SteerCounters>("steerCounters"),
			     InstanceMethod<&PortWrap::RefMethod>("ref"),
			     InstanceMethod<&PortWrap::UnrefMethod>("unref"),
			     InstanceMethod<&PortWrap::CloseMethod>("close") });
}

PortWrap::PortWrap(const Napi::CallbackInfo &info) : Napi::ObjectWrap<PortWrap>(info)
{
	Napi::Env env = info.Env();
	Napi::Object o = info[0].As<Napi::Object>();
	std::string ifname = Str(o, "interface");
	std::string object_path = Str(o, "bpfObjectPath");
	std::string bind = Str(o, "bind");
	// An empty string: no pinning.
	std::string pin_dir = Str(o, "pinDir");
	Napi::Array queue_ids = o.Get("queues").As<Napi::Array>();
	struct su_port_config cfg{};
	su_error err{};

	cfg.ifname = ifname.c_str();
	cfg.bpf_object_path = object_path.c_str();
	cfg.queue_count = std::min<uint32_t>(queue_ids.Length(), SU_MAX_QUEUES + 1);
	for (uint32_t i = 0; i < cfg.queue_count && i < SU_MAX_QUEUES; i++)
		cfg.queue_ids[i] = queue_ids.Get(i).As<Napi::Number>().Uint32Value();
	cfg.frame_size = U32(o, "frameSize");
	cfg.frame_count = U32(o, "frameCount");
	cfg.frame_headroom = U32(o, "frameHeadroom");
	cfg.rx_size = U32(o, "rxRingSize");
	cfg.tx_size = U32(o, "txRingSize");
	cfg.fill_size = U32(o, "fillRingSize");
	cfg.completion_size = U32(o, "completionRingSize");
	cfg.batch_size = U32(o, "batchSize");
	cfg.bind = bind == "copy" ? SU_BIND_COPY : bind == "zero-copy" ? SU_BIND_ZEROCOPY
								  : SU_BIND_AUTO;
	cfg.attach = Str(o, "attach") == "generic" ? SU_ATTACH_GENERIC : SU_ATTACH_DRIVER;
	cfg.need_wakeup = Bool(o, "needWakeup");
	cfg.busy_poll = Bool(o, "busyPoll");
	cfg.replace = Bool(o, "replace");
	cfg.pin_dir = pin_dir.empty() ? nullptr : pin_dir.c_str();

	if (su_port_open(&cfg, &port, &err))
		throw MakeError(env, err);

	js_owned.assign(cfg.frame_count, 0);
	for (uint32_t i = 0; i < su_port_queue_count(port); i++) {
		auto jq = std::make_unique<JsQueue>();
		Napi::ArrayBuffer exchange =
			Napi::ArrayBuffer::New(env, 2 * cfg.batch_size * sizeof(su_exchange_entry));

		jq->port = this;
		jq->queue = su_port_queue(port, i);
		jq->index = i;
		jq->exchange_ref = Napi::Persistent(exchange);
		jq->exchange = static_cast<su_exchange_entry *>(exchange.Data());
		jq->exchange_capacity = cfg.batch_size;
		if (su_spsc_init(&jq->to_js, cfg.frame_count)) {
			su_port_free(port);
			port = nullptr;
			throw MakeError(env, "ERR_SYSCALL", "Out of memory");
		}
		queues.push_back(std::move(jq));
	}
	// The doorbell keeps the wrapper alive until it is finalized: a call queued by a worker
	// just before close() must still find the queues it points to.
	Ref();
	doorbell = Doorbell::New(env, Napi::Function(), "softunicast-batches", 0, 1, this,
				 [](Napi::Env, void *, PortWrap *self) { self->Unref(); });
	Instance::Get(env).open_ports.insert(this);
}

PortWrap::~PortWrap()
{
	// Reached only after the doorbell was finalized, hence after close.
	su_port_free(port);
	for (auto &jq : queues)
		su_spsc_destroy(&jq->to_js);
}

void PortWrap::Close(Napi::Env env)
{
	if (!port || su_port_is_closed(port))
		return;
	su_port_close(port);  // joins the workers: nothing rings the doorbell after this
	// The handlers reference the JS objects that reference this wrapper: drop them, or a
	// closed port could never be collected.
	for (auto &jq : queues)
		jq->handler.Reset();
	if (!umem_ref_.IsEmpty())
		umem_ref_.Value().Detach();  // views of the unmapped UMEM become empty, not dangling
	Instance::Get(env).open_ports.erase(this);
	doorbell.Release();
}

void PortWrap::ThrowIfClosed(Napi::Env env)
{
	if (su_port_is_closed(port))
		throw MakeError(env, "ERR_CLOSED",
				std::string("The port on '") + su_port_config(port)->ifname +
					"' is closed");
}

JsQueue &PortWrap::QueueArg(const Napi::CallbackInfo &info)
{
	uint32_t i = info[0].As<Napi::Number>().Uint32Value();

	ThrowIfClosed(info.Env());
	if (i >= queues.size())
		throw MakeError(info.Env(), "ERR_INVALID_OPTION",
				"Expected a queue position below " + std::to_string(queues.size()) +
					" but received " + std::to_string(i));
	return *queues[i];
}

Napi::Value PortWrap::Info(const Napi::CallbackInfo &info)
{
	Napi::Object o = Napi::Object::New(info.Env());

	o.Set("zeroCopy", su_port_zerocopy(port));
	o.Set("adopted", su_port_adopted(port));
	char driver[64];
	su_iface_driver(su_port_config(port)->ifname, driver, sizeof(driver));
	o.Set("driver", driver);
	return o;
}

Napi::Value PortWrap::Umem(const Napi::CallbackInfo &info)
{
	ThrowIfClosed(info.Env());
	if (umem_ref_.IsEmpty()) {
		uint64_t size;
		uint8_t *area = su_port_umem(port, &size);
		// External: JS reads and writes the frames in place. No finalizer; the memory is
		// unmapped by close(), which detaches this buffer first.
		umem_ref_ = Napi::Persistent(Napi::ArrayBuffer::New(info.Env(), area, size));
	}
	return umem_ref_.Value();
}

Napi::Value PortWrap::Exchange(const Napi::CallbackInfo &info)
{
	return QueueArg(info).exchange_ref.Value();
}

Napi::Value PortWrap::Start(const Napi::CallbackInfo &info)
{
	su_error err{};

	ThrowIfClosed(info.Env());
	if (su_port_start(port, &err))
		throw MakeError(info.Env(), err);
	return info.Env().Undefined();
}

Napi::Value PortWrap::SetCapture(const Napi::CallbackInfo &info)
{
	Napi::Uint8Array image = info[0].As<Napi::Uint8Array>();
	su_error err{};

	ThrowIfClosed(info.Env());
	if (image.ByteLength() % sizeof(su_capture_rule) != 0)
		throw MakeError(info.Env(), "ERR_INVALID_OPTION",
				"Expected a capture image of whole " +
					std::to_string(sizeof(su_capture_rule)) +
					"-byte rules but received " +
					std::to_string(image.ByteLength()) + " bytes");
	if (su_port_set_capture(port, reinterpret_cast<const su_capture_rule *>(image.Data()),
				image.ByteLength() / sizeof(su_capture_rule), &err))
		throw MakeError(info.Env(), err);
	return info.Env().Undefined();
}

Napi::Value PortWrap::SetBatchHandler(const Napi::CallbackInfo &info)
{
	JsQueue &jq = QueueArg(info);

	// Without a handler the worker recycles packets itself and counts them
	// (rx_dropped_no_handler); batches already on their way to JS are recycled by CallJs.
	if (info[1].IsFunction()) {
		jq.handler = Napi::Persistent(info[1].As<Napi::Function>());
		su_queue_set_handler(jq.queue, DeliverFromWorker, &jq);
	} else {
		su_queue_set_handler(jq.queue, nullptr, nullptr);
		jq.handler.Reset();
	}
	return info.Env().Undefined();
}

Napi::Value PortWrap::Submit(const Napi::CallbackInfo &info)
{
	JsQueue &jq = QueueArg(info);
	uint32_t area = info[1].As<Napi::Number>().Uint32Value();
	uint32_t count = info[2].As<Napi::Number>().Uint32Value();

	return Napi::Number::New(info.Env(), SubmitExchange(info.Env(), *this, jq, area, count));
}

Napi::Value PortWrap::Allocate(const Napi::CallbackInfo &info)
{
	JsQueue &jq = QueueArg(info);
	uint32_t count = info[1].As<Napi::Number>().Uint32Value();

	return Napi::Number::New(info.Env(), AllocateExchange(*this, jq, count));
}

Napi::Value PortWrap::QueueCounters(const Napi::CallbackInfo &info)
{
	JsQueue &jq = QueueArg(info);
	uint64_t values[SU_QUEUE_COUNTER_COUNT];

	su_queue_counters(jq.queue, values);
	return ToFloat64Array(info.Env(), values, SU_QUEUE_COUNTER_COUNT);
}

Napi::Value PortWrap::KernelStats(const Napi::CallbackInfo &info)
{
	JsQueue &jq = QueueArg(info);
	uint64_t values[6];
	su_error err{};

	if (su_queue_kernel_stats(jq.queue, values, &err))
		throw MakeError(info.Env(), err);
	return ToFloat64Array(info.Env(), values, 6);
}

Napi::Value PortWrap::SteerCounters(const Napi::CallbackInfo &info)
{
	uint64_t values[SU_STEER_COUNTER_COUNT];
	su_error err{};

	ThrowIfClosed(info.Env());
	if (su_port_steer_counters(port, values, &err))
		throw MakeError(info.Env(), err);
	return ToFloat64Array(info.Env(), values, SU_STEER_COUNTER_COUNT);
}

Napi::Value PortWrap::RefMethod(const Napi::CallbackInfo &info)
{
	if (!su_port_is_closed(port))
		doorbell.Ref(info.Env());
	return info.Env().Undefined();
}

Napi::Value PortWrap::UnrefMethod(const Napi::CallbackInfo &info)
{
	if (!su_port_is_closed(port))
		doorbell.Unref(info.Env());
	return info.Env().Undefined();
}

Napi::Value PortWrap::CloseMethod(const Napi::CallbackInfo &info)
{
	Close(info.Env());
	return info.Env().Undefined();
}

}  // namespace su
