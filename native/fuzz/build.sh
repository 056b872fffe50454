#!/usr/bin/env bash
# Builds the fuzz targets (native/fuzz/*.c) with clang's libFuzzer, ASan and UBSan into OUT
# (default build/fuzz), compiling native/core's sources straight in; rebuilds a target only when
# a source or header is newer than it. Debian's clang package brings the libFuzzer runtime.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-build/fuzz}"
mkdir -p "$out"
# su_error_set lives with the AF_XDP layer; it needs nothing else from there.
core=(native/core/view.c native/core/parse.c native/core/gue.c native/core/route.c native/core/frags.c native/xsk/error.c)
deps=("${core[@]}" native/core/*.h native/include/softunicast/*.h)
for target in fuzz_route fuzz_view; do
  src="native/fuzz/$target.c"
  stale=0
  [ -x "$out/$target" ] || stale=1
  for f in "$src" "${deps[@]}"; do [ "$f" -nt "$out/$target" ] && stale=1; done
  [ "$stale" = 0 ] && continue
  clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -D_GNU_SOURCE -std=gnu11 -Wall -Wextra -Werror -Inative/include \
    "$src" "${core[@]}" -o "$out/$target"
done
