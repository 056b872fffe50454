#!/usr/bin/env bash
# Replays the route fuzzer's inputs (seeds, regressions, and the corpus long runs collected)
# through the XDP program with BPF_PROG_TEST_RUN beside su_core_route_as_xdp (xdp_replay.c):
# builds the replay when stale (against the CMake build's libraries and steer.bpf.o, which
# scripts/bootstrap.sh makes), writes the seeds, prints one line per frame that differs and a
# summary. Needs root. Used by test/bpf/fuzz-xdp.test.ts.
#   xdp_replay.sh [INPUT...]
#   default INPUT: OUT/seeds-route, native/fuzz/regressions/route, OUT/corpus-route
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${SU_FUZZ_OUT:-build/fuzz}"
native=build/native
mkdir -p "$out"
libs=("$native/libsu_router.a" "$native/libsu_core.a" "$native/libsu_xsk.a" "$native/libsu_common.a")
for f in "${libs[@]}" "$native/bpf/steer.bpf.o"; do
  if [ ! -f "$f" ]; then
    echo "xdp_replay.sh: expected $f from the native build (scripts/bootstrap.sh)" >&2
    exit 2
  fi
done
bin="$out/xdp_replay"
stale=0
[ -x "$bin" ] || stale=1
for f in native/fuzz/xdp_replay.c native/fuzz/xdp_replay.sh "${libs[@]}"; do
  [ "$f" -nt "$bin" ] && stale=1
done
if [ "$stale" = 1 ]; then
  clang -g -O1 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Inative/include \
    native/fuzz/xdp_replay.c "${libs[@]}" $(pkg-config --libs libxdp libbpf) -lpthread -o "$bin.tmp"
  mv -f "$bin.tmp" "$bin"
fi
node dist/native/fuzz/seeds.js "$out" >/dev/null
inputs=("$@")
if [ "${#inputs[@]}" = 0 ]; then
  inputs=("$out/seeds-route" native/fuzz/regressions/route)
  [ -d "$out/corpus-route" ] && inputs+=("$out/corpus-route")
fi
exec "$bin" "$native/bpf/steer.bpf.o" "$out/golden.img" "${inputs[@]}"
