#!/usr/bin/env bash
# Starts or stops a Docker engine for the packaging scripts on a machine where
# none runs (this one: no bridge networking, so --bridge=none --iptables=false;
# containers use --network host).
#   packaging/dockerd.sh start   # no-op if an engine answers; else starts
#                                # dockerd, writes its PID to $PIDFILE
#   packaging/dockerd.sh stop    # stops only a dockerd this script started
# Environment: CHORUS_DOCKERD_PIDFILE (default /run/chorus-dockerd.pid),
#              CHORUS_DOCKERD_LOG (default /var/log/chorus-dockerd.log).
set -euo pipefail
pidfile=${CHORUS_DOCKERD_PIDFILE:-/run/chorus-dockerd.pid}
log=${CHORUS_DOCKERD_LOG:-/var/log/chorus-dockerd.log}
docker=$(command -v /usr/bin/docker docker | head -1)

case "${1:-}" in
start)
  if "$docker" info >/dev/null 2>&1; then
    echo "dockerd.sh: an engine is already running" >&2
    exit 0
  fi
  command -v dockerd >/dev/null || {
    echo "dockerd.sh: dockerd is missing (apt-get install docker.io)" >&2
    exit 1
  }
  # setsid: the engine outlives this script and is not in the caller's
  # process group (a test's cleanup kills only what it started, by PID).
  setsid dockerd --bridge=none --iptables=false --ip-masq=false >>"$log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  for _ in $(seq 120); do
    if "$docker" info >/dev/null 2>&1; then
      echo "dockerd.sh: dockerd started, PID $(cat "$pidfile"), log $log" >&2
      exit 0
    fi
    kill -0 "$(cat "$pidfile")" 2>/dev/null || break
    sleep 0.5
  done
  echo "dockerd.sh: dockerd did not come up; last lines of $log:" >&2
  tail -20 "$log" >&2
  kill "$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
  exit 1
  ;;
stop)
  [ -f "$pidfile" ] || exit 0
  pid=$(cat "$pidfile")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  echo "dockerd.sh: dockerd (PID $pid) stopped" >&2
  ;;
*)
  echo "usage: $0 start|stop" >&2
  exit 2
  ;;
esac
