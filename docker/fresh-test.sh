#!/usr/bin/env bash
# `make fresh-test`: the README's two commands, `make run APP=sha` and then `make test`, on a fresh
# Debian 12: a container of the base image (docker/make-base.sh: debootstrap --variant=minbase,
# nothing else) that gets a clean `git clone` of this repository and, from this host, only what
# stands in for the network (docker/host-env.sh: the git URL rewrites of the host's global git
# config with copies of the mirrors they point to, and the CA certificates added to the host).
# Inside, as root: `apt-get install git make` (what a fresh machine needs to get the repository),
# then the two commands in the clone, each timed.
#
#   docker/fresh-test.sh [BASE]         (default romain-base:bookworm)
#
# FRESH_WORKTREE=1 tests the work tree instead of HEAD: the clone gets the uncommitted changes
# (tracked and untracked files that are not ignored) on top. FRESH_KEEP=1 keeps the container.
# Prints the output, then each command's time and exit status; exits non-zero if either failed.
# The output is also in $ROMAIN_BUILD/fresh-test/log.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${ROMAIN_BUILD:-$ROOT/build}
BASE=${1:-romain-base:bookworm}
log() { printf '[fresh-test] %s\n' "$*" >&2; }

"$ROOT/docker/make-base.sh" --if-missing "$BASE"

out=$BUILD/fresh-test
rm -rf "$out"
mkdir -p "$out/stage"
git clone -q --no-hardlinks "$ROOT" "$out/stage/romain"
what="HEAD $(git -C "$ROOT" rev-parse --short HEAD)"
if [[ ${FRESH_WORKTREE:-0} == 1 ]]; then
  (
    cd "$ROOT"
    git ls-files -z -co --exclude-standard | while IFS= read -r -d '' f; do
      [[ -e $f || -L $f ]] && printf '%s\0' "$f"
    done | tar -c --null -T -
  ) | tar -x -C "$out/stage/romain"
  (cd "$ROOT" && git ls-files -z -d) | (cd "$out/stage/romain" && xargs -0 -r rm -f --)
  what="$what with the work tree's uncommitted changes"
elif [[ -n $(git -C "$ROOT" status --porcelain) ]]; then
  log "the work tree has uncommitted changes, not tested (FRESH_WORKTREE=1 tests them)"
fi
"$ROOT/docker/host-env.sh" "$out/stage/host" /fresh/host

cat >"$out/stage/inside.sh" <<'EOF'
#!/bin/bash
# Runs in the fresh container, as root.
set -u
cd /fresh
if [ -d host/ca-certificates ]; then
  mkdir -p /usr/local/share/ca-certificates
  cp host/ca-certificates/*.crt /usr/local/share/ca-certificates/
fi
[ -f host/gitconfig ] && cp host/gitconfig /root/.gitconfig
export DEBIAN_FRONTEND=noninteractive
{ apt-get update -qq && apt-get install -y -qq --no-install-recommends ca-certificates git make >/dev/null &&
  update-ca-certificates >/dev/null; } || { echo "fresh-test: cannot install git and make"; exit 1; }
cd /fresh/romain
results=() failed=0
run() {
  local start=$SECONDS rc
  echo "fresh-test: === $* ==="
  "$@"
  rc=$?
  results+=("fresh-test: $*: exit $rc, $((SECONDS - start)) s")
  echo "${results[-1]}"
  [ $rc -eq 0 ] || failed=1
}
run make run APP=sha
run make test
echo
printf '%s\n' "${results[@]}"
exit $failed
EOF

name=romain-fresh-$$
log "testing $what in a fresh $BASE container ($name); log: $out/log"
docker create --name "$name" "$BASE" bash /fresh/inside.sh >/dev/null
trap '[[ ${FRESH_KEEP:-0} == 1 ]] || docker rm -f "$name" >/dev/null 2>&1 || true' EXIT
docker cp "$out/stage/." "$name:/fresh"
rm -rf "$out/stage"
docker start -a "$name" 2>&1 | tee "$out/log" || true
rc=$(docker inspect -f '{{.State.ExitCode}}' "$name")
grep '^fresh-test: ' "$out/log" | grep -v ' === ' | sort -u >&2 || true
log "exit $rc (output in $out/log)"
exit "$rc"
