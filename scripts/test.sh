#!/usr/bin/env bash
# Installs dependencies, builds, and runs the whole test suite:
#   1. release build: every test (unit, sim, integration, interop);
#   2. ASan+UBSan build: unit and simulation tests;
#   3. each fuzz target for a short bounded time, seeded with the vectors
#      (CHORUS_FUZZ_SECONDS in total, split between the targets).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)

echo "== release build"
bash scripts/build.sh release
# Integration and interop tests run real agents on a shared 2-core machine;
# a failed test is run once more, and the log keeps both outcomes, so a
# timing flake is visible without failing the run (a real bug fails twice).
(cd build && ctest --output-on-failure -j "$jobs" --timeout 600 --repeat until-pass:2)

echo "== ASan+UBSan build: unit and simulation tests"
bash scripts/build.sh asan
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j "$jobs" -L 'unit|sim' --timeout 900)

if [ -f tests/fuzz/CMakeLists.txt ]; then
  echo "== fuzz smoke (bounded)"
  bash scripts/build.sh fuzz
  bash tests/fuzz/run.sh build-fuzz "${CHORUS_FUZZ_SECONDS:-72}"
fi
echo "all tests passed"
