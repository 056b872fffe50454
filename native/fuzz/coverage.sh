#!/usr/bin/env bash
# Which lines and branches of native/core the fuzzers' corpora reach: replays OUT/corpus-* and
# the seeds through builds instrumented for source coverage (clang -fprofile-instr-generate, no
# sanitizers) and prints llvm-cov's report per file. Run by native/fuzz/run.sh after a long run;
# the command it prints last shows the lines never reached.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${SU_FUZZ_OUT:-build/fuzz}"
cov="$out/coverage"
mkdir -p "$cov"
rm -f "$cov"/*.profraw

core=(native/core/view.c native/core/view_check.c native/core/view_flow.c native/core/view_addr.c native/core/view_prefix.c native/core/view_export.c native/core/encap.c
      native/core/route.c native/core/frags.c native/common/error.c)
model=(native/fuzz/oracle.c native/fuzz/oracle_frames.c native/fuzz/oracle_parse.c native/fuzz/oracle_route.c
       native/fuzz/oracle_table.c native/fuzz/oracle_flow.c native/fuzz/oracle_addr.c)
for target in route view; do
  bin="$cov/fuzz_$target"
  stale=0
  [ -x "$bin" ] || stale=1
  for f in "native/fuzz/fuzz_$target.c" "${model[@]}" native/fuzz/*.h native/fuzz/coverage.sh \
           "${core[@]}" native/core/*.h native/include/softunicast/*.h; do
    [ "$f" -nt "$bin" ] && stale=1
  done
  if [ "$stale" = 1 ]; then
    clang -g -O1 -fprofile-instr-generate -fcoverage-mapping -fsanitize=fuzzer -D_GNU_SOURCE \
      -std=gnu11 -Inative/include -Inative/core "native/fuzz/fuzz_$target.c" \
      "${model[@]}" "${core[@]}" -o "$bin"
  fi
  mkdir -p "$out/corpus-$target"
  inputs=("$out/corpus-$target" "$out/seeds-$target")
  [ -d "native/fuzz/regressions/$target" ] && inputs+=("native/fuzz/regressions/$target")
  # -runs=0: every corpus input once, no mutation.
  LLVM_PROFILE_FILE="$cov/$target.profraw" "$bin" -runs=0 --table="$out/golden.img" \
    "${inputs[@]}" >"$cov/$target.log" 2>&1
done
llvm-profdata merge -sparse "$cov"/*.profraw -o "$cov/core.profdata"
llvm-cov report "$cov/fuzz_route" -object "$cov/fuzz_view" -instr-profile="$cov/core.profdata" \
  native/core/*.c native/core/*.h
echo "lines never reached: llvm-cov show $cov/fuzz_route -object $cov/fuzz_view" \
  "-instr-profile=$cov/core.profdata native/core/*.c | grep -E '^ +[0-9]+\| +0\|'"
