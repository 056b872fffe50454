#!/usr/bin/env bash
# Runs both fuzzers for SECONDS each (default 600), on persistent corpora in OUT (default
# build/fuzz): builds what is missing, writes the seeds (native/fuzz/seeds.ts), then prints each
# run's summary (executions, coverage, corpus size). Exits non-zero on a crash, leaving the
# reproducer in OUT/crashes/. `npm run fuzz -- 3600` for an hour each; the test suite runs 10 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-600}"
out="${2:-build/fuzz}"
bash native/fuzz/build.sh "$out"
node dist/native/fuzz/seeds.js "$out" >/dev/null
mkdir -p "$out/crashes" "$out/corpus-route" "$out/corpus-view"
export SU_FUZZ_TABLE="$out/golden.img"
for target in route view; do
  # -max_len: a 9000-byte jumbo frame plus the headroom byte; tables may be larger.
  max_len=$([ "$target" = route ] && echo 9217 || echo 65536)
  log="$out/fuzz_$target.log"
  if ! "$out/fuzz_$target" "$out/corpus-$target" "$out/seeds-$target" -max_total_time="$seconds" \
      -max_len="$max_len" -artifact_prefix="$out/crashes/$target-" -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "fuzz_$target: crashed; reproducer in $out/crashes/ (log: $log)" >&2
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  corpus=$(ls "$out/corpus-$target" | wc -l)
  echo "fuzz_$target: ${seconds} s, ${runs} executions, coverage ${cov} edges, corpus ${corpus} inputs, no crash"
done
