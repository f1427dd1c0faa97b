#!/usr/bin/env bash
# Prints the path of a cached Debian bookworm minbase root (debootstrap), making
# it on first use. The packaging tests copy it instead of bootstrapping again,
# so only the first run needs a few minutes and the Debian archive.
#   packaging/rootfs.sh            -> /var/cache/chorus-test/bookworm-minbase
# Environment: CHORUS_TEST_CACHE (default /var/cache/chorus-test),
#              DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail
cache=${CHORUS_TEST_CACHE:-/var/cache/chorus-test}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
root=$cache/bookworm-minbase
if [ -x "$root/bin/sh" ] && [ -f "$root/.chorus-rootfs-done" ]; then
  echo "$root"
  exit 0
fi
command -v debootstrap >/dev/null || {
  echo "rootfs.sh: debootstrap is missing (apt-get install debootstrap)" >&2
  exit 1
}
mkdir -p "$cache"
# Two runs at once must not share a half-made tree: bootstrap aside, then rename.
exec 9>"$cache/.rootfs.lock"
flock 9
if [ ! -f "$root/.chorus-rootfs-done" ]; then
  tmp=$(mktemp -d "$cache/bootstrap.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "rootfs.sh: debootstrap --variant=minbase bookworm (first run only)" >&2
  debootstrap --variant=minbase bookworm "$tmp" "$mirror" >"$cache/debootstrap.log" 2>&1 || {
    echo "rootfs.sh: debootstrap failed, see $cache/debootstrap.log" >&2
    tail -20 "$cache/debootstrap.log" >&2
    exit 1
  }
  # A smaller tree: no downloaded .debs, no apt lists (apt-get update refetches).
  rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/cache/apt/*.bin "$tmp"/var/lib/apt/lists/*
  touch "$tmp/.chorus-rootfs-done"
  rm -rf "$root"
  mv "$tmp" "$root"
  trap - EXIT
fi
echo "$root"
