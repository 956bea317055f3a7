#!/usr/bin/env bash
# Makes the base image of docker/Dockerfile and `make fresh-test`: a minimal Debian 12 root made
# with debootstrap from Debian's archive and imported into Docker, so that no image registry is
# needed. Its APT sources are a Debian 12 installation's (main, updates and security: Debian's
# rustc-web 1.96, cargo-web and lld-22 come from bookworm-security).
#
#   docker/make-base.sh [IMAGE]        (default romain-base:bookworm; DEBIAN_MIRROR=... to change)
#   docker/make-base.sh --if-missing IMAGE
#                                      what docker/build.sh and fresh-test.sh call: checks for a
#                                      Docker daemon, and makes IMAGE only if it is a romain-base
#                                      image that is not there yet
set -euo pipefail
if_missing=0
if [[ ${1:-} == --if-missing ]]; then
  if_missing=1
  shift
fi
IMAGE=${1:-romain-base:bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${DEBIAN_SECURITY_MIRROR:-${MIRROR%/debian}/debian-security}
log() { printf '[make-base] %s\n' "$*" >&2; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

docker info >/dev/null 2>&1 || {
  log "no Docker daemon: install docker.io and start it (e.g. 'dockerd >/tmp/dockerd.log 2>&1 &')"
  exit 1
}
if [[ $if_missing == 1 ]] && { [[ $IMAGE != romain-base:* ]] || docker image inspect "$IMAGE" >/dev/null 2>&1; }; then
  exit 0
fi

if ! command -v debootstrap >/dev/null; then
  log "installing debootstrap"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

root=$(mktemp -d /tmp/romain-base.XXXXXX)
trap 'as_root rm -rf "$root"' EXIT
log "debootstrap --variant=minbase bookworm from $MIRROR"
as_root debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$root.log" 2>&1 ||
  { tail -20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"
as_root tee "$root/etc/apt/sources.list" >/dev/null <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY bookworm-security main
EOF
as_root rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
log "importing it as $IMAGE"
as_root tar -C "$root" -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'ENV LANG=C.UTF-8' -c 'CMD ["bash"]' - "$IMAGE" >/dev/null
log "done: $IMAGE"
