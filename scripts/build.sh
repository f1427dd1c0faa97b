#!/usr/bin/env bash
# Configures and builds one configuration: scripts/build.sh [release|asan|fuzz]
# CHORUS_TESTS=ON and no unity build, explicitly: scripts/demo.sh configures
# the same build/ without the tests and as a unity build, and the cache keeps both.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-release}
case "$kind" in
  release) cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHORUS_TESTS=ON -DCMAKE_UNITY_BUILD=OFF >/dev/null ;;
  asan) cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCHORUS_SANITIZE=ON >/dev/null ;;
  fuzz) CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHORUS_FUZZ=ON >/dev/null ;;
  *) echo "usage: $0 [release|asan|fuzz]" >&2; exit 2 ;;
esac
dir=build; [ "$kind" = release ] || dir=build-$kind
if [ "$kind" = fuzz ]; then
  # Only the libFuzzer targets: they compile the code under test themselves.
  # tests/fuzz/targets.txt is the one list of them.
  cmake --build "$dir" --target $(sed 's/^/fuzz_/' tests/fuzz/targets.txt)
elif [ "$kind" = asan ]; then
  # Only what the unit and simulation tests run, the layers the sanitizer
  # run covers (scripts/test.sh): their executables, and the Vivaldi bench
  # whose scorer checks are unit tests (bench/vivaldi/CMakeLists.txt). The
  # CLI, the other benches and the process-level tests would be a quarter of
  # the compile for nothing.
  mapfile -t targets < <(ninja -C "$dir" -t targets all | sed -nE 's/^((unit|sim)_[a-z_]+): phony$/\1/p')
  cmake --build "$dir" --target "${targets[@]}" chorus-vivaldi-bench
else
  cmake --build "$dir"
fi
