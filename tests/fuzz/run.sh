#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded time: tests/fuzz/run.sh BUILD_DIR SECONDS
# Seeds come from the captured vectors (make_corpus.py, written into the build
# directory). Fails if any target finds a crash, leak, timeout or OOM; the
# reproducer is left in BUILD_DIR/fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:?usage: run.sh BUILD_DIR SECONDS}
seconds=${2:?usage: run.sh BUILD_DIR SECONDS}
shared=${CHORUS_SHARED_DIR:-$(cd .. && pwd)/shared}
work="$build/fuzz"
mkdir -p "$work/seeds" "$work/artifacts"
dict=()
if command -v python3 >/dev/null && [ -d "$shared/vectors" ]; then
  python3 tests/fuzz/make_corpus.py "$shared/vectors" "$work/seeds"
  dict=(-dict="$work/seeds/gossip.dict")
else
  echo "warning: no python3 or no vectors: fuzzing without seeds" >&2
fi
status=0
for target in fuzz_udp_packet fuzz_tcp_stream fuzz_serf_message fuzz_lzw fuzz_rpc_request; do
  bin="$build/tests/fuzz/$target"
  if [ ! -x "$bin" ]; then
    echo "missing $bin (configure with -DCHORUS_FUZZ=ON and clang++)" >&2
    exit 1
  fi
  corpus="$work/corpus/$target"
  mkdir -p "$corpus" "$work/seeds/$target"
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
