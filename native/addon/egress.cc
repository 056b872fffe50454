// See egress.h: the N-API glue of the egress helper. The socket work is in egress_socket.cc,
// the poller thread in egress_poller.cc (egress_internal.h declares both).
#include "egress.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <climits>
#include <string>

#include "egress_internal.h"
#include "errors.h"

namespace su {
namespace {

using namespace egress;

// ---- N-API glue ---------------------------------------------------------------------------

struct EgressState {
	Poller *poller = nullptr;  // made on first need; freed by its thread-safe function's finalizer
};

Napi::Error BadSpec(Napi::Env env, const char *key, const char *expected)
{
	// src/egress.ts validates first: reaching this is a caller bypassing it.
	return MakeError(env, "ERR_INVALID_OPTION",
			 std::string("Expected ") + expected + " for egressConnect spec." + key);
}

uint32_t SpecUint(Napi::Env env, Napi::Object spec, const char *key, uint32_t max)
{
	Napi::Value v = spec.Get(key);
	if (!v.IsNumber())
		throw BadSpec(env, key, "a number");
	double d = v.As<Napi::Number>().DoubleValue();
	if (!(d >= 0 && d <= max) || d != (double)(uint32_t)d)
		throw BadSpec(env, key, ("an integer from 0 to " + std::to_string(max)).c_str());
	return (uint32_t)d;
}

// Fills `ss` from a textual address of `family` and a port; also its canonical text.
bool ParseAddress(const std::string &text, int family, uint16_t port, sockaddr_storage *ss,
		  char *canonical, size_t size)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		sockaddr_in *sin = (sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		return inet_pton(AF_INET, text.c_str(), &sin->sin_addr) == 1 &&
		       inet_ntop(AF_INET, &sin->sin_addr, canonical, size);
	}
	sockaddr_in6 *sin6 = (sockaddr_in6 *)ss;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	return inet_pton(AF_INET6, text.c_str(), &sin6->sin6_addr) == 1 &&
	       inet_ntop(AF_INET6, &sin6->sin6_addr, canonical, size);
}

// spec: { protocol: 'tcp' | 'udp', source, host: address strings of one family, port,
//         from, to: the slice, timeoutMs: 0 for none }
EgressRequest ParseSpec(Napi::Env env, Napi::Value value)
{
	EgressRequest r{};
	char host[INET6_ADDRSTRLEN];

	if (!value.IsObject())
		throw BadSpec(env, "", "an object");
	Napi::Object spec = value.As<Napi::Object>();
	Napi::Value protocol = spec.Get("protocol"), source = spec.Get("source"), remote = spec.Get("host");
	if (!protocol.IsString() || !source.IsString() || !remote.IsString())
		throw BadSpec(env, "protocol/source/host", "strings");
	std::string proto = protocol.As<Napi::String>().Utf8Value();
	if (proto != "tcp" && proto != "udp")
		throw BadSpec(env, "protocol", "'tcp' or 'udp'");
	r.protocol = proto == "tcp" ? IPPROTO_TCP : IPPROTO_UDP;
	std::string source_text = source.As<Napi::String>().Utf8Value();
	r.family = source_text.find(':') == std::string::npos ? AF_INET : AF_INET6;
	r.addrlen = r.family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
	uint16_t port = (uint16_t)SpecUint(env, spec, "port", 65535);
	r.first = (uint16_t)SpecUint(env, spec, "from", 65535);
	r.last = (uint16_t)SpecUint(env, spec, "to", 65535);
	r.timeout_ms = SpecUint(env, spec, "timeoutMs", INT_MAX);
	if (r.first > r.last)
		throw BadSpec(env, "to", "a port not below spec.from");
	if (!ParseAddress(source_text, r.family, 0, &r.source, r.source_text, sizeof(r.source_text)))
		throw BadSpec(env, "source", "an IPv4 or IPv6 address");
	if (!ParseAddress(remote.As<Napi::String>().Utf8Value(), r.family, port, &r.remote, host,
			  sizeof(host)))
		throw BadSpec(env, "host", "an address of the family of spec.source");
	snprintf(r.remote_text, sizeof(r.remote_text), r.family == AF_INET ? "%s:%u" : "[%s]:%u",
		 host, port);
	return r;
}

Napi::Value EgressConnect(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	EgressState *state = static_cast<EgressState *>(info.Data());
	EgressRequest req = ParseSpec(env, info[0]);
	auto deferred = Napi::Promise::Deferred::New(env);
	bool in_progress = false;
	su_error err{};
	int fd = -1;

	// Always a promise, settled later for failures found at once too: one way to handle errors.
	if (EgressOpen(&req, &fd, &in_progress, &err)) {
		deferred.Reject(MakeError(env, err).Value());
		return deferred.Promise();
	}
	if (!in_progress) {
		deferred.Resolve(Napi::Number::New(env, fd));
		return deferred.Promise();
	}
	if (!state->poller)
		state->poller = Poller::Create(env, &err);
	Pending pending{ deferred, req, fd };
	if (!state->poller || state->poller->Watch(env, pending, &err)) {
		close(fd);
		deferred.Reject(MakeError(env, err).Value());
	}
	return deferred.Promise();
}

}  // namespace

void EgressInit(Napi::Env env, Napi::Object exports)
{
	EgressState *state = new EgressState();

	// The poller itself is freed by its thread-safe function's finalizer, which Node runs after
	// the cleanup hooks; this frees only the small state that points at it.
	napi_add_env_cleanup_hook(
		env, [](void *arg) { delete static_cast<EgressState *>(arg); }, state);
	exports.Set("egressConnect", Napi::Function::New(env, EgressConnect, "egressConnect", state));
}

}  // namespace su
