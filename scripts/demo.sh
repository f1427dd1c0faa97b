#!/usr/bin/env bash
# Installs dependencies, builds chorus, and runs a local demo cluster:
# three `chorus agent`s on 127.0.0.11-13 (gossip :7946, RPC :7373 each) that
# join, show `chorus members`, run an event handler on a user event, answer
# a query, detect a killed agent as failed, and leave gracefully.
# DEMO_VIVALDI=1 also runs the Vivaldi accuracy benchmark afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release
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
for i in 1 2 3; do
  ip=127.0.0.1$i
  join=()
  [ "$i" -gt 1 ] && join=(-join=127.0.0.11)
  $chorus agent -node=node$i -bind=$ip -rpc-addr=$ip:7373 -tag role=${roles[$((i - 1))]} -tag dc=demo \
    -event-handler="user,query=$dir/handler.sh" "${join[@]}" >"$dir/node$i.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do $chorus members -rpc-addr=$ip:7373 >/dev/null 2>&1 && break; sleep 0.1; done
done
sleep 1

echo "== chorus members (asked from node2)"
$chorus members -rpc-addr=127.0.0.12:7373

echo "== user event 'deploy' from node3; each agent's handler logs it"
$chorus event -rpc-addr=127.0.0.13:7373 -coalesce=false deploy v1.2.3
sleep 2
sort "$dir/events.log" || true

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
