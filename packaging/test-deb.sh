#!/usr/bin/env bash
# Package test: builds the .deb, installs it into a clean Debian bookworm root
# (debootstrap minbase, cached by rootfs.sh) with dpkg + apt-get -f install,
# then checks what a user would: `chorus version`, the chorus user, the
# conffile, and an agent started with the systemd unit's own ExecStart line
# (as user chorus, in the chroot; chroot shares the network, so it binds
# 127.67.0.1) shows itself alive in `chorus members`, is joined by the host's
# serf when present, and leaves on SIGINT like `systemctl stop`.
#   packaging/test-deb.sh [BUILD_DIR]
# Needs root, debootstrap and the Debian archive (apt-get -f install).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-}
addr=127.67.0.1
serf_addr=127.67.0.2

deb=$(bash "$here/build-deb.sh" $build | tail -1)
base=$(bash "$here/rootfs.sh")
work=$(mktemp -d /var/tmp/chorus-debtest.XXXXXX)
root=$work/root
pids=()
mounts=()
cleanup() {
  local p m
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for ((m = ${#mounts[@]} - 1; m >= 0; m--)); do umount "${mounts[$m]}" 2>/dev/null || umount -l "${mounts[$m]}" || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# A throwaway copy of the cached root: an overlay when the kernel allows it,
# else a plain copy.
mkdir -p "$root" "$work/upper" "$work/ovl"
if mount -t overlay overlay -o "lowerdir=$base,upperdir=$work/upper,workdir=$work/ovl" "$root" 2>/dev/null; then
  mounts+=("$root")
else
  cp -a "$base/." "$root/"
fi
mount -t proc proc "$root/proc"
mounts+=("$root/proc")
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/chorus.deb"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

echo "== dpkg -i $(basename "$deb") (dependencies missing in a minbase root)"
in_root dpkg -i /tmp/chorus.deb || true
echo "== apt-get -f install"
in_root apt-get update -qq
in_root apt-get -f install -y -q --no-install-recommends
[ "$(in_root dpkg-query -W -f='${Status}' chorus)" = "install ok installed" ] || fail "chorus is not installed"

echo "== chorus version"
out=$(in_root chorus version)
echo "$out"
grep -q '^chorus v' <<<"$out" || fail "chorus version printed: $out"

echo "== what the package set up"
in_root id chorus || fail "no chorus user"
[ "$(in_root stat -c %U "/var/lib/chorus")" = chorus ] || fail "/var/lib/chorus is not owned by chorus"
in_root dpkg-query -W -f='${Conffiles}\n' chorus | grep -q '/etc/chorus/chorus.json' || fail "chorus.json is not a conffile"
unit=$root/usr/lib/systemd/system/chorus.service
[ -f "$unit" ] || fail "no systemd unit"
if [ -f "$root/usr/share/man/man1/chorus.1.gz" ]; then echo "man page: /usr/share/man/man1/chorus.1.gz"; fi

echo "== the unit's ExecStart as user chorus, on $addr"
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
[ -n "$exec_start" ] || fail "no ExecStart in the unit"
# The command line wins over /etc/chorus: a loopback address, not 0.0.0.0.
# shellcheck disable=SC2086
chroot --userspec=chorus:chorus "$root" $exec_start -node=debtest -bind=$addr -rpc-addr=$addr:7373 \
  >"$work/agent.log" 2>&1 &
agent=$!
pids+=("$agent")
members=""
for _ in $(seq 100); do
  members=$(in_root chorus members -rpc-addr=$addr:7373 2>/dev/null || true)
  grep -q "^debtest .*alive" <<<"$members" && break
  kill -0 "$agent" 2>/dev/null || break
  sleep 0.1
done
echo "$members"
grep -q "^debtest .*alive" <<<"$members" || {
  cat "$work/agent.log"
  fail "the agent is not alive in chorus members"
}
# By uid: the host's /etc/passwd may give the chroot's chorus uid another name.
[ "$(ps -o uid= -p "$agent" | tr -d ' ')" = "$(in_root id -u chorus)" ] || fail "the agent does not run as chorus"

if command -v serf >/dev/null; then
  echo "== the host's serf joins the packaged agent"
  serf agent -node=host-serf -bind=$serf_addr -rpc-addr=$serf_addr:7373 -join=$addr >"$work/serf.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    members=$(in_root chorus members -rpc-addr=$addr:7373 -status=alive 2>/dev/null || true)
    [ "$(grep -c alive <<<"$members")" -ge 2 ] && break
    sleep 0.1
  done
  echo "$members"
  [ "$(grep -c alive <<<"$members")" -ge 2 ] || fail "serf did not join the packaged agent"
fi

if grep -q "snapshot /var/lib/chorus" "$work/agent.log"; then
  # Only where the agent implements snapshots: the state directory is writable.
  [ -f "$root/var/lib/chorus/serf.snapshot" ] || fail "the agent logged a snapshot but wrote none"
  ls -l "$root/var/lib/chorus/"
fi

echo "== SIGINT (systemctl stop): graceful leave and exit 0"
kill -INT "$agent"
rc=0
for _ in $(seq 200); do kill -0 "$agent" 2>/dev/null || break; sleep 0.1; done
kill -0 "$agent" 2>/dev/null && fail "the agent did not stop within 20 s of SIGINT"
wait "$agent" || rc=$?
[ "$rc" = 0 ] || fail "the agent exited with $rc"
grep -qi "leav" "$work/agent.log" || fail "no leave in the agent's log"
echo "agent log:"
cat "$work/agent.log"
echo "PASS: package installs in a clean bookworm root and runs"
