// The JS class SliceView: one compiled slice table, checked and indexed by native/core (su_view),
// with explain() to show what the fast path would do with a packet. The router glue takes the
// su_view over with TakeView when the table is published.
#pragma once
#include <napi.h>

#include "softunicast/core.h"

namespace su {

// What the worker guarantees in front of every received packet (XDP_PACKET_HEADROOM): explain()
// gives the same, so that it answers exactly as the fast path would.
constexpr uint32_t kExplainHeadroom = 256;
static_assert(kExplainHeadroom >= SU_CORE_MAX_GROWTH, "explain() must leave room to encapsulate");

// The counter name of a fate (SU_ROUTE_COUNTERS).
const char *FateName(enum su_route_counter fate);

class SliceView : public Napi::ObjectWrap<SliceView> {
public:
	static Napi::Function Define(Napi::Env env);
	// new SliceView(image: Uint8Array): throws InvalidTableError naming the first problem.
	explicit SliceView(const Napi::CallbackInfo &info);
	~SliceView() override;

	// Gives up the view (the caller owns it from now on); throws ERR_CLOSED when already gone.
	su_view *Take(Napi::Env env);

private:
	Napi::Value Generation(const Napi::CallbackInfo &info);
	Napi::Value Explain(const Napi::CallbackInfo &info);
	Napi::Value Release(const Napi::CallbackInfo &info);

	const su_view *Get(Napi::Env env);
	void Drop(const char *why);

	su_view *view_ = nullptr;
	int64_t external_bytes_ = 0;  // reported to V8 so that big tables get collected promptly
	const char *gone_ = "";       // why view_ is null: for the ERR_CLOSED message
};

// The router's way in: the su_view of `slice_view` (a SliceView), whose ownership passes to the
// caller; the JS object is left empty (explain() and generation() then throw ERR_CLOSED). Throws
// ERR_INVALID_OPTION for anything that is not a SliceView and ERR_CLOSED for an empty one.
su_view *TakeView(Napi::Env env, Napi::Object slice_view);

}  // namespace su
