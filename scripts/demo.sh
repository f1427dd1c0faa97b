#!/usr/bin/env bash
# Installs dependencies, builds chorus, and runs a demo. Until the agent
# exists, the demo is the Vivaldi benchmark on the seattle99 RTT matrix: it
# shows how accurately chorus's coordinates predict real Internet RTTs,
# next to Serf's own algorithm.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release
./build/src/cli/chorus version
data=../shared/data/seattle99
for algo in serf chorus; do
  echo "== Vivaldi, algorithm=$algo, seattle99 clean schedule"
  ./build/bench/vivaldi/chorus-vivaldi-bench --matrix "$data/seattle99.rtt" \
    --schedule "$data/schedules/seattle99.clean.r200.s1.sched" --algorithm "$algo"
done
