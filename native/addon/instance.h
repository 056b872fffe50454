// Per-environment state of the addon (worker threads and each Node environment get their own):
// the error factory, and the ports and netlink followers still open, closed by the
// environment's cleanup hook.
#pragma once
#include <napi.h>
#include <set>

namespace su {

class PortWrap;
class NetlinkWrap;

struct Instance {
	Napi::FunctionReference error_factory;
	Napi::FunctionReference port_constructor;
	std::set<PortWrap *> open_ports;
	std::set<NetlinkWrap *> open_netlinks;

	static Instance &Get(Napi::Env env) { return *env.GetInstanceData<Instance>(); }
};

}  // namespace su
