// See egress.h. The socket work (read the namespace's port range, open, bind, connect, check the
// port) is plain functions on a plain struct; the N-API glue and the poller thread follow it.
#include "egress.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "errors.h"

// linux/in.h has had both since 4.2 and 6.3; glibc's netinet/in.h may lag behind the kernel.
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif
#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51
#endif

namespace su {
namespace {

// ---- Plain socket work: no N-API, runs on the JS thread and never waits ------------------

struct EgressRequest {
	int protocol;  // IPPROTO_TCP or IPPROTO_UDP
	int family;    // AF_INET or AF_INET6
	sockaddr_storage source;  // the shared address, port 0
	sockaddr_storage remote;
	socklen_t addrlen;
	uint16_t first, last;  // the slice, inclusive
	uint32_t timeout_ms;   // 0: the kernel's own limit (net.ipv4.tcp_syn_retries)
	uint16_t sys_first, sys_last;  // net.ipv4.ip_local_port_range when the socket was opened
	char source_text[INET6_ADDRSTRLEN];
	char remote_text[INET6_ADDRSTRLEN + 8];  // "198.51.100.7:80", "[2001:db8::7]:80"
};

const char *ProtocolName(const EgressRequest &r)
{
	return r.protocol == IPPROTO_TCP ? "TCP" : "UDP";
}

// "192.0.2.1 ports 2048-4095", plus what the namespace's range leaves of the slice. The kernel
// narrows a socket's range by the namespace's one bound by bound, exactly like this
// (inet_sk_get_local_port_range, net/ipv4/inet_connection_sock.c).
std::string SliceText(const EgressRequest &r)
{
	unsigned lo = r.sys_first, hi = r.sys_last;
	char buf[256];
	int n;

	if (lo <= r.first && r.first <= hi)
		lo = r.first;
	if (lo <= r.last && r.last <= hi)
		hi = r.last;
	n = snprintf(buf, sizeof(buf), "%s ports %u-%u", r.source_text, r.first, r.last);
	if ((lo != r.first || hi != r.last) && n > 0 && (size_t)n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - n,
			 " (net.ipv4.ip_local_port_range %u-%u leaves %u-%u of them)", r.sys_first,
			 r.sys_last, lo, hi);
	return buf;
}

int ReadLocalPortRange(EgressRequest *r, su_error *err)
{
	// /proc/sys/net shows the namespace of the thread that opens it: ours, the socket's.
	const char *path = "/proc/sys/net/ipv4/ip_local_port_range";
	unsigned lo = 0, hi = 0;
	FILE *f = fopen(path, "re");
	int n;

	if (!f)
		return su_error_set(err, "ERR_SYSCALL", errno, "open", "Could not read %s: %s", path,
				    strerror(errno));
	n = fscanf(f, "%u %u", &lo, &hi);
	fclose(f);
	if (n != 2 || lo > 65535 || hi > 65535 || lo > hi)
		return su_error_set(err, "ERR_SYSCALL", EIO, "read",
				    "Could not parse %s: expected two ports", path);
	r->sys_first = (uint16_t)lo;
	r->sys_last = (uint16_t)hi;
	return 0;
}

int Exhausted(const EgressRequest &r, int errnum, const char *syscall, su_error *err)
{
	std::string slice = SliceText(r);

	if (r.protocol == IPPROTO_TCP)
		return su_error_set(err, "ERR_SLICE_EXHAUSTED", errnum, syscall,
				    "every port of %s is in use towards %s", slice.c_str(),
				    r.remote_text);
	// A UDP port is held whatever the destination (udp_lib_get_port checks only the local side).
	return su_error_set(err, "ERR_SLICE_EXHAUSTED", errnum, syscall,
			    "every port of %s is in use by UDP sockets, none is left towards %s "
			    "(UDP sockets do not share a port between destinations)",
			    slice.c_str(), r.remote_text);
}

int ConnectFailed(const EgressRequest &r, int errnum, su_error *err)
{
	return su_error_set(err, "ERR_SYSCALL", errnum, "connect",
			    "Could not connect %s from %s to %s: %s", ProtocolName(r),
			    SliceText(r).c_str(), r.remote_text, strerror(errnum));
}

// The port is the kernel's choice: make sure it honoured the slice before anybody uses the
// socket (it would not if net.ipv4.ip_local_port_range changed under us).
int CheckLocalPort(const EgressRequest &r, int fd, su_error *err)
{
	sockaddr_storage local{};
	socklen_t len = sizeof(local);
	unsigned port;

	if (getsockname(fd, (sockaddr *)&local, &len))
		return su_error_set(err, "ERR_SYSCALL", errno, "getsockname",
				    "Could not read the local port of a %s socket from %s: %s",
				    ProtocolName(r), r.source_text, strerror(errno));
	port = ntohs(local.ss_family == AF_INET ? ((sockaddr_in *)&local)->sin_port
						 : ((sockaddr_in6 *)&local)->sin6_port);
	if (port < r.first || port > r.last)
		return su_error_set(err, "ERR_SYSCALL", 0, "getsockname",
				    "The kernel chose port %u, outside %s: did "
				    "net.ipv4.ip_local_port_range change?",
				    port, SliceText(r).c_str());
	return 0;
}

// Opens r's socket. Returns 0 with *fdp bound (UDP), or connected or still connecting (TCP,
// *in_progress); otherwise -errno with `err` filled and nothing left open.
int EgressOpen(EgressRequest *r, int *fdp, bool *in_progress, su_error *err)
{
	const bool tcp = r->protocol == IPPROTO_TCP;
	const uint32_t range = (uint32_t)r->last << 16 | r->first;  // FACTS.md: high 16 bits = upper bound
	int one = 1, fd, ret, e;
	struct utsname uts;

	*in_progress = false;
	ret = ReadLocalPortRange(r, err);
	if (ret)
		return ret;
	// Outside the namespace's range the kernel ignores a socket's own range altogether and picks
	// any port of the namespace's: a port of another host's slice, whose replies go astray.
	if (r->first > r->sys_last || r->last < r->sys_first)
		return su_error_set(err, "ERR_INVALID_OPTION", 0, nullptr,
				    "Expected a port range that overlaps net.ipv4.ip_local_port_range "
				    "(%u-%u in this network namespace) for ports but received %u-%u: "
				    "outside it the kernel ignores a socket's own port range; widen it, "
				    "e.g. sysctl -w net.ipv4.ip_local_port_range='1024 65535'",
				    r->sys_first, r->sys_last, r->first, r->last);

	fd = socket(r->family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return su_error_set(err, "ERR_SYSCALL", errno, "socket",
				    "Could not open a %s socket: %s", ProtocolName(*r), strerror(errno));

	// TCP: bind() only takes the address and connect() picks the port, checking the whole
	// 4-tuple, so one port of the slice serves every destination. UDP gains nothing from it
	// (its ports are exclusive) and bind() then reports exhaustion plainly, as EADDRINUSE.
	if (tcp && setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one))) {
		e = errno;
		ret = su_error_set(err, "ERR_SYSCALL", e, "setsockopt",
				   "Could not set IP_BIND_ADDRESS_NO_PORT: %s", strerror(e));
		goto close_fd;
	}
	// SOL_IP for IPv6 sockets too: the kernel keeps the range in inet_sock, common to both
	// (checked on 6.18 with AF_INET6 TCP and UDP sockets).
	if (setsockopt(fd, SOL_IP, IP_LOCAL_PORT_RANGE, &range, sizeof(range))) {
		e = errno;
		if (e == ENOPROTOOPT) {
			if (uname(&uts))
				snprintf(uts.release, sizeof(uts.release), "unknown");
			ret = su_error_set(err, "ERR_SYSCALL", e, "setsockopt",
					   "This kernel (%s) does not know IP_LOCAL_PORT_RANGE: "
					   "connecting from a slice of ports needs Linux 6.3 or newer",
					   uts.release);
		} else {
			ret = su_error_set(err, "ERR_SYSCALL", e, "setsockopt",
					   "Could not set IP_LOCAL_PORT_RANGE to %u-%u: %s", r->first,
					   r->last, strerror(e));
		}
		goto close_fd;
	}
	if (bind(fd, (sockaddr *)&r->source, r->addrlen)) {
		e = errno;
		if (e == EADDRNOTAVAIL)
			ret = su_error_set(err, "ERR_SYSCALL", e, "bind",
					   "Could not bind to %s: it is not an address of this host "
					   "(configure the shared address on a dummy or loopback interface)",
					   r->source_text);
		else if (e == EADDRINUSE && !tcp)
			ret = Exhausted(*r, e, "bind", err);
		else
			ret = su_error_set(err, "ERR_SYSCALL", e, "bind", "Could not bind to %s: %s",
					   r->source_text, strerror(e));
		goto close_fd;
	}
	if (!tcp) {
		// Bound, port chosen: done. dgram connects it (src/egress.ts): libuv marks a socket
		// that is connected already as such, and Node's connect() then fails with EISCONN.
		ret = CheckLocalPort(*r, fd, err);
		if (ret)
			goto close_fd;
		*fdp = fd;
		return 0;
	}
	if (connect(fd, (sockaddr *)&r->remote, r->addrlen)) {
		e = errno;
		if (e != EINPROGRESS) {
			// No port of the slice is free for this 4-tuple (__inet_hash_connect).
			ret = e == EADDRNOTAVAIL ? Exhausted(*r, e, "connect", err)
						 : ConnectFailed(*r, e, err);
			goto close_fd;
		}
		*in_progress = true;
	}
	ret = CheckLocalPort(*r, fd, err);
	if (ret)
		goto close_fd;
	*fdp = fd;
	return 0;

close_fd:
	close(fd);
	return ret;
}

// The end of a TCP handshake: `so_error` from SO_ERROR, or ETIMEDOUT when our deadline passed.
int EgressFinish(const EgressRequest &r, int so_error, bool timed_out, su_error *err)
{
	if (timed_out)
		return su_error_set(err, "ERR_SYSCALL", ETIMEDOUT, "connect",
				    "Connecting TCP from %s to %s timed out after %u ms",
				    SliceText(r).c_str(), r.remote_text, r.timeout_ms);
	if (so_error)
		return ConnectFailed(r, so_error, err);
	return 0;
}

int64_t NowMs()
{
	timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// ---- Poller: waits for TCP handshakes off the JS thread ---------------------------------

struct Done {
	uint64_t id;
	int so_error;
	bool timed_out;
};

struct Pending {
	Napi::Promise::Deferred deferred;
	EgressRequest req;
	int fd;
};

class Poller;
void DeliverDone(Napi::Env env, Napi::Function, Poller *poller, Done *done);
using DoneFunction = Napi::TypedThreadSafeFunction<Poller, Done, DeliverDone>;

// One per Node environment, made by the first TCP connect that has to wait. Its thread sleeps in
// epoll until a handshake ends or a deadline passes and hands the result to the JS thread; all
// else (the promises, the fds after the handshake) belongs to the JS thread. A libuv poll handle
// would need uv.h, which the node-api-headers build does not have.
class Poller {
public:
	// Returns nullptr with `err` filled if it cannot start.
	static Poller *Create(Napi::Env env, su_error *err);
	// JS thread. Takes `pending` (its fd connecting); on failure fills `err` and leaves it to the caller.
	int Watch(Napi::Env env, Pending &pending, su_error *err);
	// JS thread, from the thread-safe function.
	void Complete(Napi::Env env, const Done &done);

private:
	struct Watched {
		int fd;
		int64_t deadline;  // NowMs() clock, -1 for none
	};

	Poller() = default;
	~Poller();
	// Environment teardown (the thread-safe function's finalizer): stop and join the thread.
	void Shutdown();
	void Run();
	int NextTimeout();
	void Wake();

	// JS thread only.
	std::map<uint64_t, Pending> pending_;
	uint64_t next_id_ = 1;  // 0 tags the eventfd in epoll
	DoneFunction done_fn_;
	std::thread thread_;

	// Shared with the thread, under mu_.
	std::mutex mu_;
	std::map<uint64_t, Watched> watched_;
	bool stopping_ = false;

	int epfd_ = -1;
	int wakefd_ = -1;
};

Poller *Poller::Create(Napi::Env env, su_error *err)
{
	Poller *p = new Poller();
	epoll_event ev{};

	p->epfd_ = epoll_create1(EPOLL_CLOEXEC);
	if (p->epfd_ < 0) {
		su_error_set(err, "ERR_SYSCALL", errno, "epoll_create1",
			     "Could not create the epoll instance that waits for connections: %s",
			     strerror(errno));
		delete p;
		return nullptr;
	}
	p->wakefd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->wakefd_ < 0) {
		su_error_set(err, "ERR_SYSCALL", errno, "eventfd",
			     "Could not create the eventfd that wakes the connection poller: %s",
			     strerror(errno));
		delete p;
		return nullptr;
	}
	ev.events = EPOLLIN;
	ev.data.u64 = 0;
	if (epoll_ctl(p->epfd_, EPOLL_CTL_ADD, p->wakefd_, &ev)) {
		su_error_set(err, "ERR_SYSCALL", errno, "epoll_ctl",
			     "Could not watch the poller's eventfd: %s", strerror(errno));
		delete p;
		return nullptr;
	}
	// The thread holds the one share and never gives it back: Node finalizes the function at
	// environment teardown, and the finalizer stops and joins the thread, then frees the poller.
	try {
		p->done_fn_ = DoneFunction::New(env, "softunicast:egress", 0, 1, p,
						[](Napi::Env, void *, Poller *poller) {
							poller->Shutdown();
							delete poller;
						});
	} catch (const Napi::Error &e) {
		su_error_set(err, "ERR_SYSCALL", 0, "napi_create_threadsafe_function",
			     "Could not create the connection poller's thread-safe function: %s",
			     e.Message().c_str());
		delete p;
		return nullptr;
	}
	// Idle, it must not keep the process alive; Watch() refs it while a connect is pending.
	p->done_fn_.Unref(env);
	try {
		p->thread_ = std::thread(&Poller::Run, p);
	} catch (const std::system_error &e) {
		su_error_set(err, "ERR_SYSCALL", e.code().value(), "pthread_create",
			     "Could not start the connection poller thread: %s", e.what());
		p->done_fn_.Release();  // finalizes, which frees p
		return nullptr;
	}
	return p;
}

Poller::~Poller()
{
	if (epfd_ >= 0)
		close(epfd_);
	if (wakefd_ >= 0)
		close(wakefd_);
}

void Poller::Shutdown()
{
	{
		std::lock_guard<std::mutex> lock(mu_);
		stopping_ = true;
	}
	Wake();
	if (thread_.joinable())
		thread_.join();
	// Connects still pending: nobody is left to hear about them.
	for (auto &entry : pending_)
		close(entry.second.fd);
	pending_.clear();
}

void Poller::Wake()
{
	uint64_t one = 1;
	// Only fails when the counter is saturated, and then the thread is awake anyway.
	(void)!write(wakefd_, &one, sizeof(one));
}

int Poller::Watch(Napi::Env env, Pending &pending, su_error *err)
{
	const uint64_t id = next_id_++;
	const uint32_t timeout = pending.req.timeout_ms;
	epoll_event ev{};

	ev.events = EPOLLOUT | EPOLLONESHOT;  // writable = connected; errors are always reported
	ev.data.u64 = id;
	{
		std::lock_guard<std::mutex> lock(mu_);
		// Recorded before epoll_ctl: the thread may see the event before we leave the lock.
		watched_[id] = Watched{ pending.fd, timeout ? NowMs() + timeout : -1 };
		if (epoll_ctl(epfd_, EPOLL_CTL_ADD, pending.fd, &ev)) {
			watched_.erase(id);
			return su_error_set(err, "ERR_SYSCALL", errno, "epoll_ctl",
					    "Could not watch a connecting socket: %s", strerror(errno));
		}
	}
	// Like net.connect: a pending connection keeps the process alive.
	if (pending_.empty())
		done_fn_.Ref(env);
	pending_.emplace(id, pending);
	if (timeout)
		Wake();  // the thread's epoll_wait timeout must take the new deadline into account
	return 0;
}

int Poller::NextTimeout()
{
	std::lock_guard<std::mutex> lock(mu_);
	int64_t next = -1, now = NowMs();

	for (const auto &entry : watched_) {
		int64_t d = entry.second.deadline;
		if (d >= 0 && (next < 0 || d < next))
			next = d;
	}
	if (next < 0)
		return -1;
	return next <= now ? 0 : (int)std::min<int64_t>(next - now, INT_MAX);
}

void Poller::Run()
{
	epoll_event events[32];
	std::vector<Done> done;

	for (;;) {
		int n = epoll_wait(epfd_, events, 32, NextTimeout());

		if (n < 0)
			n = 0;  // EINTR: look at the deadlines and wait again
		done.clear();
		{
			std::lock_guard<std::mutex> lock(mu_);
			if (stopping_)
				return;
			for (int i = 0; i < n; i++) {
				uint64_t id = events[i].data.u64, count;
				int so_error = 0;
				socklen_t len = sizeof(so_error);

				if (id == 0) {
					(void)!read(wakefd_, &count, sizeof(count));
					continue;
				}
				auto it = watched_.find(id);
				if (it == watched_.end())
					continue;
				if (getsockopt(it->second.fd, SOL_SOCKET, SO_ERROR, &so_error, &len))
					so_error = errno;
				// Off our epoll before the JS thread hands the fd to libuv or closes it.
				epoll_ctl(epfd_, EPOLL_CTL_DEL, it->second.fd, nullptr);
				watched_.erase(it);
				done.push_back(Done{ id, so_error, false });
			}
			int64_t now = NowMs();
			for (auto it = watched_.begin(); it != watched_.end();) {
				if (it->second.deadline < 0 || it->second.deadline > now) {
					++it;
					continue;
				}
				epoll_ctl(epfd_, EPOLL_CTL_DEL, it->second.fd, nullptr);
				done.push_back(Done{ it->first, ETIMEDOUT, true });
				it = watched_.erase(it);
			}
		}
		for (const Done &d : done) {
			Done *copy = new Done(d);
			// Unbounded queue: never blocks. Fails only once the environment is closing.
			if (done_fn_.NonBlockingCall(copy) != napi_ok) {
				delete copy;
				return;
			}
		}
	}
}

void Poller::Complete(Napi::Env env, const Done &done)
{
	auto it = pending_.find(done.id);
	su_error err{};

	if (it == pending_.end())
		return;
	Pending p = it->second;
	pending_.erase(it);
	if (pending_.empty())
		done_fn_.Unref(env);
	if (EgressFinish(p.req, done.so_error, done.timed_out, &err) == 0) {
		p.deferred.Resolve(Napi::Number::New(env, p.fd));
		return;
	}
	close(p.fd);
	try {
		p.deferred.Reject(MakeError(env, err).Value());
	} catch (const Napi::Error &e) {
		p.deferred.Reject(e.Value());
	}
}

void DeliverDone(Napi::Env env, Napi::Function, Poller *poller, Done *done)
{
	std::unique_ptr<Done> owned(done);

	// No env: the function is being finalized and `poller` may already be gone.
	if (static_cast<napi_env>(env) == nullptr)
		return;
	poller->Complete(env, *owned);
}

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
