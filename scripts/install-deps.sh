#!/usr/bin/env bash
# Installs everything chorus needs to build and test, from Debian's archive.
# Run as root on Debian bookworm. Safe to run again.
set -euo pipefail
packages=(
  g++ cmake ninja-build pkg-config git python3
  libasio-dev libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev libmsgpack-cxx-dev libsodium-dev catch2
  libhttp-parser-dev                      # HTTP API request parsing (-http-addr, -metrics-addr)
  clang libclang-rt-14-dev clang-format   # fuzzing (libFuzzer) and formatting
  serf iptables iproute2 procps           # interop peer and fault injection for tests
  python3-matplotlib                      # bench/fleet plots (issue 16)
  curl                                    # the demo and the HTTP API tests
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
