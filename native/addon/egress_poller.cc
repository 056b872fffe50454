// The egress helper's poller (egress_internal.h): one thread per Node environment waits in epoll
// for TCP handshakes and hands each result to the JS thread.
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <climits>
#include <memory>
#include <system_error>

#include "egress_internal.h"
#include "errors.h"

namespace su {
namespace egress {

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

}  // namespace egress
}  // namespace su
