#!/usr/bin/env bash
# Builds the chorus Docker image (Dockerfile at the repository root) on a
# machine that cannot pull images:
#   1. starts a Docker engine if none runs (dockerd.sh: --bridge=none
#      --iptables=false) and stops it again at the end unless
#      CHORUS_KEEP_DOCKERD=1;
#   2. makes debian:bookworm-slim (and debian:bookworm) locally from a
#      debootstrap minbase root (rootfs.sh, cached) with `docker import`;
#   3. `docker build --network host -t chorus:VERSION -t chorus:latest .`
# Usage: packaging/docker-build.sh [extra docker build args]
# Environment: JOBS (compile jobs in the builder, default 2),
#              CHORUS_IMAGE (default chorus),
#              CHORUS_GIT_REV: build that commit (`git archive` as the build
#              context) instead of the working tree.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
docker=$(command -v /usr/bin/docker docker | head -1)
image=${CHORUS_IMAGE:-chorus}
version=$(sed -n 's/^project(chorus VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")

started=0
if ! "$docker" info >/dev/null 2>&1; then
  bash "$here/dockerd.sh" start
  started=1
fi
stop_engine() {
  if [ "$started" = 1 ] && [ "${CHORUS_KEEP_DOCKERD:-0}" != 1 ]; then bash "$here/dockerd.sh" stop; fi
}
trap stop_engine EXIT

for tag in debian:bookworm-slim debian:bookworm; do
  if ! "$docker" image inspect "$tag" >/dev/null 2>&1; then
    root=$(bash "$here/rootfs.sh")
    echo "docker-build.sh: importing $root as $tag" >&2
    tar -C "$root" --exclude=./.chorus-rootfs-done -c . | "$docker" import - "$tag" >&2
  fi
done

build=("$docker" build --network host --build-arg JOBS="${JOBS:-2}" -t "$image:$version" -t "$image:latest" "$@")
if [ -n "${CHORUS_GIT_REV:-}" ]; then
  git -C "$src" archive --format=tar "$CHORUS_GIT_REV" | DOCKER_BUILDKIT=0 "${build[@]}" - >&2
else
  DOCKER_BUILDKIT=0 "${build[@]}" "$src" >&2
fi
"$docker" image ls "$image" >&2
echo "$image:$version"
