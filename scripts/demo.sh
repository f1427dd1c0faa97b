#!/usr/bin/env bash
# Installs dependencies, builds the `chorus` binary (only it: the tests are
# built by scripts/test.sh, in the same build/ directory), and runs a local
# demo cluster: three `chorus agent`s on 127.0.0.11-13 (gossip :7946, RPC
# :7373 each; node1 also serves the HTTP API on :8500) that join, show
# `chorus members`, estimated RTTs (`rtt`, `members -near`, `rtt -matrix`),
# a tag filter, the HTTP API with curl (members, a live event stream), run an
# event handler on a user event, answer a query, detect a killed agent as
# failed, and leave gracefully.
# DEMO_VIVALDI=1 also builds and runs the Vivaldi accuracy benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# A first build, not a development one: CHORUS_TESTS=OFF leaves the test
# suite unconfigured (its targets were most of the configure step: 6.6 -> 1.2
# CPU-s), and a unity build compiles the 84 files of `chorus` as 23, so the
# heavy headers (Asio, JSON, spdlog) are parsed a few times instead of once
# per file (about half the compile CPU). scripts/build.sh turns both back.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHORUS_TESTS=OFF -DCMAKE_UNITY_BUILD=ON >/dev/null
targets=(chorus)
[ "${DEMO_VIVALDI:-0}" = 1 ] && targets+=(chorus-vivaldi-bench)
cmake --build build --target "${targets[@]}"
chorus=./build/src/cli/chorus
$chorus version

dir=$(mktemp -d /tmp/chorus-demo-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

cat >"$dir/handler.sh" <<'SH'
#!/bin/sh
# Prints what happened; answers queries with the node's uptime.
if [ "$SERF_EVENT" = query ]; then uptime | sed 's/^ *//'; exit 0; fi
echo "$SERF_SELF_NAME saw $SERF_EVENT $SERF_USER_EVENT: $(cat)" >>"$(dirname "$0")/events.log"
SH
chmod +x "$dir/handler.sh"

roles=(web db cache)
regions=(sin fra sin)
for i in 1 2 3; do
  ip=127.0.0.1$i
  extra=()
  [ "$i" -gt 1 ] && extra=(-join=127.0.0.11)
  [ "$i" = 1 ] && extra=(-http-addr=127.0.0.11:8500)
  $chorus agent -node=node$i -bind=$ip -rpc-addr=$ip:7373 -tag role=${roles[$((i - 1))]} \
    -tag region=${regions[$((i - 1))]} -event-handler="user,query=$dir/handler.sh" "${extra[@]}" \
    >"$dir/node$i.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do $chorus members -rpc-addr=$ip:7373 >/dev/null 2>&1 && break; sleep 0.1; done
done
sleep 1

echo "== chorus members (asked from node2)"
$chorus members -rpc-addr=127.0.0.12:7373

echo "== chorus members -tag region=sin"
$chorus members -rpc-addr=127.0.0.12:7373 -tag region=sin

# Each agent learns a peer's coordinate from its first probe of it (one a
# second, in turn): wait until node2 holds all three, at most 10 s.
for _ in $(seq 100); do
  $chorus rtt -rpc-addr=127.0.0.12:7373 node1 node3 >/dev/null 2>&1 &&
    $chorus rtt -rpc-addr=127.0.0.12:7373 node2 node3 >/dev/null 2>&1 && break
  sleep 0.1
done

echo "== Vivaldi: chorus rtt node1 node2, members -near node3, rtt -matrix (ms; loopback is fast)"
$chorus rtt -rpc-addr=127.0.0.12:7373 node1 node2
$chorus members -rpc-addr=127.0.0.12:7373 -near node3
$chorus rtt -rpc-addr=127.0.0.12:7373 -matrix

echo "== the HTTP API (node1, -http-addr=127.0.0.11:8500): curl, no client library"
echo '$ curl -s "127.0.0.11:8500/v1/members?tag=region=sin"'
curl -s "127.0.0.11:8500/v1/members?tag=region=sin"
echo '$ curl -s "127.0.0.11:8500/v1/rtt?a=node2&b=node3"'
curl -s "127.0.0.11:8500/v1/rtt?a=node2&b=node3"
echo '$ curl -sN "127.0.0.11:8500/v1/events?type=user:deploy" &   (a live event stream)'
curl -sN --max-time 4 "127.0.0.11:8500/v1/events?type=user:deploy" >"$dir/sse.txt" &
sleep 0.5

echo "== user event 'deploy' from node3; each agent's handler logs it"
$chorus event -rpc-addr=127.0.0.13:7373 -coalesce=false deploy v1.2.3
sleep 2
sort "$dir/events.log" || true
wait $! 2>/dev/null || true
echo "== what the curl event stream received"
cat "$dir/sse.txt"

echo "== query 'uptime' from node1, answered by every handler"
$chorus query -rpc-addr=127.0.0.11:7373 -timeout=2s uptime

echo "== kill -9 node3; the others mark it failed (LAN profile: a few seconds)"
kill -9 "${pids[2]}"
for _ in $(seq 60); do
  $chorus members -rpc-addr=127.0.0.11:7373 | grep -q 'node3.*failed' && break
  sleep 0.5
done
$chorus members -rpc-addr=127.0.0.11:7373

echo "== node2 leaves gracefully (SIGINT)"
kill -INT "${pids[1]}"
wait "${pids[1]}" || true
$chorus members -rpc-addr=127.0.0.11:7373
kill -INT "${pids[0]}"
wait "${pids[0]}" || true
echo "== logs in $dir"

if [ "${DEMO_VIVALDI:-0}" = 1 ]; then
  data=../shared/data/seattle99
  for algo in serf chorus; do
    echo "== Vivaldi, algorithm=$algo, seattle99 clean schedule"
    ./build/bench/vivaldi/chorus-vivaldi-bench --matrix "$data/seattle99.rtt" \
      --schedule "$data/schedules/seattle99.clean.r200.s1.sched" --algorithm "$algo"
  done
fi
