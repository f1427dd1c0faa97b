#!/usr/bin/env bash
# Docker test: builds the image (docker-build.sh: local base image, host
# network) and runs a 3-container cluster with --network host, each agent on
# its own loopback address 127.67.1.1-3; passes when every agent lists 3 alive
# members, the containers report healthy (HEALTHCHECK = `chorus info`), and
# the agent runs as the unprivileged chorus user.
# Starts a Docker engine if none runs and stops it at the end (only then).
# CHORUS_DOCKER_NO_BUILD=1 tests the existing chorus:latest image as is;
# other settings (CHORUS_GIT_REV, JOBS) go to docker-build.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
docker=$(command -v /usr/bin/docker docker | head -1)
tag=$$
names=()
started=0
if ! "$docker" info >/dev/null 2>&1; then
  bash "$here/dockerd.sh" start
  started=1
fi
cleanup() {
  local c
  for c in "${names[@]}"; do "$docker" rm -f "$c" >/dev/null 2>&1 || true; done
  if [ "$started" = 1 ]; then bash "$here/dockerd.sh" stop; fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for c in "${names[@]}"; do
    echo "--- docker logs $c" >&2
    "$docker" logs "$c" >&2 || true
  done
  exit 1
}

if [ "${CHORUS_DOCKER_NO_BUILD:-0}" = 1 ]; then
  image=${CHORUS_IMAGE:-chorus}:latest
else
  image=$(CHORUS_KEEP_DOCKERD=1 bash "$here/docker-build.sh" | tail -1)
fi
echo "== image $image"

for i in 1 2 3; do
  ip=127.67.1.$i
  join=()
  [ "$i" -gt 1 ] && join=(-join=127.67.1.1)
  name=chorus-test-$tag-$i
  names+=("$name")
  "$docker" run -d --name "$name" --network host -e CHORUS_RPC_ADDR=$ip:7373 \
    --health-interval=1s --health-start-period=2s "$image" -node=dock$i -bind=$ip "${join[@]}" >/dev/null
  # The next agent joins this one: wait for its RPC.
  for _ in $(seq 100); do
    "$docker" exec "$name" chorus members >/dev/null 2>&1 && break
    sleep 0.1
  done
done

for _ in $(seq 100); do
  ok=1
  for i in 1 2 3; do
    n=$("$docker" exec "${names[$((i - 1))]}" chorus members -status=alive | grep -c alive || true)
    [ "$n" = 3 ] || ok=0
  done
  [ "$ok" = 1 ] && break
  sleep 0.2
done
for i in 1 2 3; do
  echo "== chorus members in ${names[$((i - 1))]}"
  out=$("$docker" exec "${names[$((i - 1))]}" chorus members)
  echo "$out"
  [ "$(grep -c ' alive' <<<"$out")" = 3 ] || fail "container $i does not see 3 alive members"
done

for c in "${names[@]}"; do
  for _ in $(seq 30); do
    [ "$("$docker" inspect -f '{{.State.Health.Status}}' "$c")" = healthy ] && break
    sleep 0.5
  done
  h=$("$docker" inspect -f '{{.State.Health.Status}}' "$c")
  u=$("$docker" exec "$c" id -un)
  echo "$c: health $h, user $u"
  [ "$h" = healthy ] || fail "$c is $h"
  [ "$u" = chorus ] || fail "$c runs as $u"
done
echo "PASS: 3 containers, 3 alive members each, healthy, non-root"
