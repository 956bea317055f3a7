#!/usr/bin/env bash
# `make docker-build`: builds docker/Dockerfile as IMAGE on the base image BASE.
#
#   docker/build.sh [IMAGE] [BASE]      (defaults romain-sel4, romain-base:bookworm)
#
# - BASE is made with docker/make-base.sh (debootstrap) when Docker does not have it and it is a
#   romain-base image; any other name is left to `docker build` to pull.
# - The build context is a copy of the work tree as git sees it (tracked and untracked files that
#   are not ignored: no build/ or target/), in $ROMAIN_BUILD/docker/context, plus docker/host/
#   (docker/host-env.sh): the host's git URL rewrites with copies of their local mirrors, and its
#   added CA certificates. So the classic builder does: no BuildKit, no bind mounts.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${ROMAIN_BUILD:-$ROOT/build}
IMAGE=${1:-romain-sel4}
BASE=${2:-romain-base:bookworm}
log() { printf '[docker-build] %s\n' "$*" >&2; }

"$ROOT/docker/make-base.sh" --if-missing "$BASE"

ctx=$BUILD/docker/context
rm -rf "$ctx"
mkdir -p "$ctx"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (
    cd "$ROOT"
    git ls-files -z -co --exclude-standard | while IFS= read -r -d '' f; do
      [[ -e $f || -L $f ]] && printf '%s\0' "$f"
    done | tar -c --null -T -
  ) | tar -x -C "$ctx"
else
  tar -C "$ROOT" -c --exclude=./build --exclude=./target --exclude=./.git . | tar -x -C "$ctx"
fi
"$ROOT/docker/host-env.sh" "$ctx/docker/host" /romain/docker/host
log "context: $ctx ($(du -sh "$ctx" | cut -f1)); base $BASE"
DOCKER_BUILDKIT=0 docker build -f "$ctx/docker/Dockerfile" --build-arg BASE="$BASE" -t "$IMAGE" "$ctx"
