#!/usr/bin/env bash
# Builds the chorus Debian package with CPack and prints its path (last line).
#   packaging/build-deb.sh [BUILD_DIR]     (default: build-deb, configured here)
# An existing, configured BUILD_DIR is reused (only `chorus` and its man page
# are built). Environment: JOBS (default 2); CHORUS_DEB_NO_BUILD=1 packs what
# BUILD_DIR already holds (no ninja).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build-deb}
jobs=${JOBS:-2}
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHORUS_TESTS=OFF >&2
fi
if [ "${CHORUS_DEB_NO_BUILD:-0}" != 1 ]; then
  ninja -C "$build" -j "$jobs" chorus chorus-man >&2
fi
rm -f "$build"/packages/chorus_*.deb
(cd "$build" && cpack -G DEB >&2)
deb=$(ls "$build"/packages/chorus_*.deb)
dpkg-deb --info "$deb" >&2
dpkg-deb --contents "$deb" >&2
echo "$deb"
