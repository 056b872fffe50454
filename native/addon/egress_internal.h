// Internals of the egress helper (egress.h) shared by its three files: the request, the socket
// work (egress_socket.cc) and the poller that waits for TCP handshakes (egress_poller.cc).
#pragma once
#include <napi.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "softunicast/error.h"

namespace su {
namespace egress {

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

// ---- Socket work (egress_socket.cc): no N-API, runs on the JS thread and never waits -----

const char *ProtocolName(const EgressRequest &r);
// Opens, binds to the slice and connects; *in_progress when a TCP handshake goes on.
int EgressOpen(EgressRequest *r, int *fdp, bool *in_progress, su_error *err);
// The end of a handshake: 0 when connected from the slice, else `err` says why.
int EgressFinish(const EgressRequest &r, int so_error, bool timed_out, su_error *err);
int64_t NowMs();

// ---- The poller (egress_poller.cc) ---------------------------------------------------------

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

}  // namespace egress
}  // namespace su
