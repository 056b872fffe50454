// The egress helper's socket work (egress_internal.h): read the namespace's port range, open,
// bind to the slice, connect, check the port. Plain functions on a plain struct, no N-API.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <string>

#include "egress_internal.h"

// linux/in.h has had both since 4.2 and 6.3; glibc's netinet/in.h may lag behind the kernel.
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif
#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51
#endif

namespace su {
namespace egress {
const char *ProtocolName(const EgressRequest &r)
{
	return r.protocol == IPPROTO_TCP ? "TCP" : "UDP";
}

// "192.0.2.1 ports 2048-4095", plus what the namespace's range leaves of the slice. The kernel
// narrows a socket's range by the namespace's one bound by bound, exactly like this
// (inet_sk_get_local_port_range, net/ipv4/inet_connection_sock.c).
static std::string SliceText(const EgressRequest &r)
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

static int ReadLocalPortRange(EgressRequest *r, su_error *err)
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

static int Exhausted(const EgressRequest &r, int errnum, const char *syscall, su_error *err)
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

static int ConnectFailed(const EgressRequest &r, int errnum, su_error *err)
{
	return su_error_set(err, "ERR_SYSCALL", errnum, "connect",
			    "Could not connect %s from %s to %s: %s", ProtocolName(r),
			    SliceText(r).c_str(), r.remote_text, strerror(errnum));
}

// The port is the kernel's choice: make sure it honoured the slice before anybody uses the
// socket (it would not if net.ipv4.ip_local_port_range changed under us).
static int CheckLocalPort(const EgressRequest &r, int fd, su_error *err)
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

}  // namespace egress
}  // namespace su
