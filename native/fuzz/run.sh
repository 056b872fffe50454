#!/usr/bin/env bash
# Runs the fuzzers of the C core (native/fuzz/) for SECONDS each, one after the other: builds what
# is stale (build.sh), writes the seeds (seeds.ts, through dist/), then prints each run's
# executions, coverage and corpus size, and after a long run the line coverage of native/core
# (coverage.sh). Exits 1 on a crash, leaving the reproducer in OUT/crashes/. Used by `npm run
# fuzz` (long runs) and test/unit/fuzz-smoke.test.ts (--smoke).
#   run.sh [--smoke] [SECONDS] [TARGET...]     TARGET: route, view (default both)
#   SECONDS: default $SU_FUZZ_SECONDS, else 600. OUT: $SU_FUZZ_OUT, else build/fuzz.
#   $SU_FUZZ_FLAGS: more libFuzzer flags, e.g. -use_value_profile=1 (finds magic values sooner,
#   but grows the corpus fast and runs at a third of the speed).
#   e.g. `npm run fuzz -- 3600`, `npm run fuzz -- 60 view`
# Long runs keep their corpus in OUT/corpus-TARGET, which every later run (the smoke test's too)
# replays first. --smoke keeps what it finds in a scratch directory it then removes, so that the
# test suite never changes the corpus.
set -euo pipefail
cd "$(dirname "$0")/../.."

smoke=0
seconds="${SU_FUZZ_SECONDS:-600}"
targets=()
for arg in "$@"; do
  case "$arg" in
    --smoke) smoke=1 ;;
    route | view) targets+=("$arg") ;;
    *[!0-9]* | '') echo "usage: run.sh [--smoke] [SECONDS] [route|view...]" >&2; exit 2 ;;
    *) seconds="$arg" ;;
  esac
done
[ "${#targets[@]}" -gt 0 ] || targets=(route view)
out="${SU_FUZZ_OUT:-build/fuzz}"

bash native/fuzz/build.sh "$out"
node dist/native/fuzz/seeds.js "$out" >/dev/null
mkdir -p "$out/crashes"

status=0
for target in "${targets[@]}"; do
  corpus="$out/corpus-$target"
  mkdir -p "$corpus"
  inputs=("$corpus" "$out/seeds-$target")
  # Inputs that once crashed, kept as they were found (regressions/README.md).
  [ -d "native/fuzz/regressions/$target" ] && inputs+=("native/fuzz/regressions/$target")
  if [ "$smoke" = 1 ]; then
    scratch=$(mktemp -d "$out/smoke-$target.XXXXXX")
    inputs=("$scratch" "${inputs[@]}")
  fi
  case "$target" in
    # A jumbo frame and a few small ones; the encapsulator needs no more.
    route) flags=(-max_len=16384 -dict=native/fuzz/route.dict) ;;
    # Up to some 400 slice keys: every check and both lookup paths, at a useful speed.
    view) flags=(-max_len=16384) ;;
  esac
  log="$out/fuzz_$target.log"
  # A smoke run's log of its own: the test suite may run while a long run writes the other.
  [ "$smoke" = 1 ] && log="$scratch.log"
  before=$(ls "$out/crashes" | wc -l)
  # The first directory receives new inputs; the others are only read. -timeout: a hang is a
  # bug too (every loop in the core is bounded).
  rc=0
  # shellcheck disable=SC2086 # SU_FUZZ_FLAGS is a list of flags
  "$out/fuzz_$target" "${inputs[@]}" "${flags[@]}" -max_total_time="$seconds" -timeout=10 \
    -artifact_prefix="$out/crashes/$target-" -print_final_stats=1 ${SU_FUZZ_FLAGS:-} \
    >"$log" 2>&1 || rc=$?
  [ "$smoke" = 1 ] && rm -rf "$scratch"
  after=$(ls "$out/crashes" | wc -l)
  if [ "$rc" != 0 ] || [ "$after" != "$before" ]; then
    tail -60 "$log" >&2
    echo "fuzz_$target: failed (exit $rc); reproducer in $out/crashes/, log $log" >&2
    echo "  replay: $out/fuzz_$target $out/crashes/$target-..." >&2
    status=1
    continue
  fi
  # Only what the corpus still needs: libFuzzer writes a file per improvement and never removes
  # the ones a later, smaller input made redundant.
  if [ "$smoke" = 0 ]; then
    merged=$(mktemp -d "$out/merge-$target.XXXXXX")
    if "$out/fuzz_$target" -merge=1 "${flags[@]}" "$merged" "$corpus" >"$log.merge" 2>&1; then
      # File by file, so that a smoke run reading the corpus meanwhile never misses the directory.
      find "$corpus" -maxdepth 1 -type f -delete
      find "$merged" -maxdepth 1 -type f -exec mv -t "$corpus" {} +
    fi
    rm -rf "$merged"
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  # The last status line: edges covered, features (edges with hit counts and value profile),
  # the corpus libFuzzer holds (inputs/bytes).
  # -a: the log quotes mutations and dictionary entries byte for byte.
  last=$(grep -a -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$last")
  files=$(ls "$corpus" | wc -l)
  echo "fuzz_$target: ${seconds} s, ${runs} executions (${speed}/s), cov ${cov} edges, ft ${ft} features, corpus ${corp} (${files} files in $corpus), no crash"
  [ "$smoke" = 1 ] && rm -f "$log"
done
# After a long run, where the corpora leave native/core uncovered (a second or two to replay).
if [ "$smoke" = 0 ] && [ "$status" = 0 ]; then
  SU_FUZZ_OUT="$out" bash native/fuzz/coverage.sh
fi
exit "$status"
