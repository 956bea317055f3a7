#!/usr/bin/env bash
# Collects what a container needs from this host to reach what the host reaches, into OUT, for a
# container that sees OUT at IN (its path inside the container):
#
#   OUT/gitconfig         the url.<base>.insteadOf rewrites of the host's global git config, with
#                         each local base (file://... or a path: a mirror standing in for GitHub)
#                         pointing to its copy in IN/upstream/;
#   OUT/upstream/<name>/  those copies (and uploadpack.allowFilter, so that partial clones from a
#                         copy work as they do from GitHub: the MiBench C sources are fetched so);
#   OUT/ca-certificates/  the CA certificates added to the host (/usr/local/share/ca-certificates),
#                         e.g. those of a TLS-intercepting proxy in front of the package registries.
#
# Each part exists only when the host has something for it: on an ordinary machine online, OUT
# stays empty and the container clones from GitHub and trusts Debian's CA list as it is.
#
#   docker/host-env.sh OUT IN
set -euo pipefail
OUT=$1 IN=$2
log() { printf '[host-env] %s\n' "$*" >&2; }
rm -rf "$OUT"
mkdir -p "$OUT"

# "url.<base>.insteadof <url>" lines (git lower-cases the last part of the key).
while read -r key value; do
  base=${key#url.}
  base=${base%.insteadof}
  case $base in
    file://*) dir=${base#file://} ;;
    /*) dir=$base ;;
    *) dir="" ;;
  esac
  if [[ -n $dir ]]; then
    [[ -d $dir ]] || { log "skipping $base (no such directory)"; continue; }
    name=$(printf '%s' "${dir#/}" | tr -c 'A-Za-z0-9._+-' '_')
    if [[ ! -d $OUT/upstream/$name ]]; then
      mkdir -p "$OUT/upstream"
      cp -a "$dir" "$OUT/upstream/$name"
      log "git: $value -> a copy of $dir"
    fi
    base="file://$IN/upstream/$name"
  fi
  git config -f "$OUT/gitconfig" --add "url.$base.insteadOf" "$value"
done < <(git config --global --get-regexp '^url\..*\.insteadof$' 2>/dev/null || true)
if [[ -d $OUT/upstream ]]; then
  git config -f "$OUT/gitconfig" uploadpack.allowFilter true
fi

shopt -s nullglob
certs=(/usr/local/share/ca-certificates/*.crt /usr/local/share/ca-certificates/*/*.crt)
if ((${#certs[@]})); then
  mkdir -p "$OUT/ca-certificates"
  cp "${certs[@]}" "$OUT/ca-certificates/"
  log "CA certificates added to this host: ${#certs[@]}"
fi
