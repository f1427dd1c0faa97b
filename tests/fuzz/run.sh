#!/usr/bin/env bash
# Runs every libFuzzer target (tests/fuzz/targets.txt) for a bounded time:
#   tests/fuzz/run.sh BUILD_DIR TOTAL_SECONDS
# TOTAL_SECONDS is split evenly between the targets (at least 5 s each), so
# adding a target does not lengthen CI. Seeds come from the captured vectors
# (make_corpus.py, written into the build directory). Fails if any target
# finds a crash, leak, timeout or OOM; the reproducer is left in
# BUILD_DIR/fuzz/artifacts/. Long runs: bench/fuzz/run.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:?usage: run.sh BUILD_DIR TOTAL_SECONDS}
total=${2:?usage: run.sh BUILD_DIR TOTAL_SECONDS}
shared=${CHORUS_SHARED_DIR:-$(cd .. && pwd)/shared}
work="$build/fuzz"
mapfile -t targets < <(sed 's/^/fuzz_/' tests/fuzz/targets.txt)
seconds=$((total / ${#targets[@]}))
[ "$seconds" -ge 5 ] || seconds=5
mkdir -p "$work/seeds" "$work/artifacts"
seeded=0
if command -v python3 >/dev/null && [ -d "$shared/vectors" ]; then
  python3 tests/fuzz/make_corpus.py "$shared/vectors" "$work/seeds"
  seeded=1
else
  echo "warning: no python3 or no vectors: fuzzing without seeds" >&2
fi
status=0
for target in "${targets[@]}"; do
  bin="$build/tests/fuzz/$target"
  if [ ! -x "$bin" ]; then
    echo "missing $bin (configure with -DCHORUS_FUZZ=ON and clang++)" >&2
    exit 1
  fi
  corpus="$work/corpus/$target"
  mkdir -p "$corpus" "$work/seeds/$target"
  dict=()
  if [ -f "$work/seeds/$target.dict" ]; then dict=(-dict="$work/seeds/$target.dict")
  elif [ $seeded = 1 ]; then dict=(-dict="$work/seeds/gossip.dict"); fi
  echo "== $target for ${seconds}s"
  if ! nice "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=5 -max_len=8192 \
      -print_final_stats=1 -artifact_prefix="$work/artifacts/$target-" "${dict[@]}" \
      "$corpus" "$work/seeds/$target" 2>"$work/$target.log"; then
    echo "FAILED: $target (log: $work/$target.log)" >&2
    tail -n 40 "$work/$target.log" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$work/$target.log" | sed 's/^/   /'
  fi
done
exit $status
