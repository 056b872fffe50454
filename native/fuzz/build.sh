#!/usr/bin/env bash
# Builds the fuzz targets (native/fuzz/fuzz_*.c, with the reference model oracle*.c) with clang's
# libFuzzer, ASan and UBSan into OUT (default build/fuzz), compiling native/core's sources straight
# in: the main build's gcc has no libFuzzer. Rebuilds a target only when a source or header is
# newer than it; `npm run fuzz` and the smoke test (test/unit/fuzz-smoke.test.ts) call it first.
# The runtime comes from Debian's libclang-rt-14-dev (scripts/bootstrap.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-build/fuzz}"
mkdir -p "$out"
# One build at a time: a long run and a test suite may both ask for one.
exec 9>"$out/.build.lock"
flock 9
# su_error_set lives with the AF_XDP layer; it needs nothing else from there.
core=(native/core/view.c native/core/view_check.c native/core/view_flow.c native/core/view_addr.c native/core/view_prefix.c native/core/view_export.c native/core/encap.c
      native/core/route.c native/core/frags.c native/common/error.c)
# The reference model (oracle.h), built apart: see below.
model=(native/fuzz/oracle.c native/fuzz/oracle_frames.c native/fuzz/oracle_parse.c native/fuzz/oracle_route.c
       native/fuzz/oracle_table.c native/fuzz/oracle_flow.c native/fuzz/oracle_addr.c)
deps=("${core[@]}" "${model[@]}" native/fuzz/oracle.h native/fuzz/model.h native/fuzz/build.sh
      native/core/*.h native/include/softunicast/*.h)
for target in fuzz_route fuzz_view; do
  src="native/fuzz/$target.c"
  stale=0
  [ -x "$out/$target" ] || stale=1
  for f in "$src" "${deps[@]}"; do [ "$f" -nt "$out/$target" ] && stale=1; done
  [ "$stale" = 0 ] && continue
  echo "[fuzz] building $out/$target" >&2
  # -O1 -g: libFuzzer's recommendation, fast enough and with usable stacks. UBSan errors are
  # fatal (no recover), so that libFuzzer sees them as crashes.
  cflags=(-g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=undefined -D_GNU_SOURCE
          -std=gnu11 -Wall -Wextra -Werror -Inative/include -Inative/core)
  # The model without libFuzzer's coverage: its loops over whole frames (checksums, compares)
  # would cost more than the core itself, and its branches are not the core's to explore.
  objs=()
  for m in "${model[@]}"; do
    o="$out/$target.$(basename "$m" .c).o"
    clang "${cflags[@]}" -fsanitize=address,undefined -c "$m" -o "$o"
    objs+=("$o")
  done
  clang "${cflags[@]}" -fsanitize=fuzzer,address,undefined \
    "$src" "${core[@]}" "${objs[@]}" -o "$out/$target.tmp"
  rm -f "${objs[@]}"
  # Renamed into place: a fuzzer still running the old binary keeps it.
  mv -f "$out/$target.tmp" "$out/$target"
done
