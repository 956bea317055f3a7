#!/usr/bin/env bash
# The system calls the corpus's programs make on Linux, and which of them the Linux personality
# does not perform (ENOSYS there): how the calls of crates/romain-linux/src/table.rs were found,
# and how to find what a new program needs. Every case of linux-apps/corpus/cases runs on Linux
# under strace (x86_64) or qemu-aarch64 -strace (aarch64), in a scratch copy of the inputs.
#
#   scripts/corpus-calls.sh [BUILD_DIR]     (after `make corpus`)
#
# Prints, per architecture, each call made and by which programs, marking those not in the table.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-${ROMAIN_BUILD:-$ROOT/build}}
C=$BUILD/corpus
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
command -v strace >/dev/null || { echo "corpus-calls: strace is not installed (apt-get install strace)" >&2; exit 1; }
(cd "$ROOT" && cargo run -q -p romain-linux --example table) >"$out/table"
declare -A file=([bash]=bash-static [zsh]=zsh-static [e2fsck]=e2fsck.static)
for arch in x86_64 aarch64; do
  [[ -f $C/$arch/VERSIONS ]] || { echo "corpus-calls: no corpus for $arch (make corpus)" >&2; continue; }
  : >"$out/calls-$arch"
  grep -v '^#' "$ROOT/linux-apps/corpus/cases" | while IFS= read -r case; do
    [[ -n $case ]] || continue
    IFS=+ read -r -a parts <<<"$case"
    app=${parts[0]}
    bin=$C/$arch/${file[$app]:-$app}
    [[ -x $bin ]] || continue
    w=$(mktemp -d -p "$out")
    cp -r "$ROOT/linux-apps/corpus/." "$w/"
    cp "$C"/inputs/* "$w/" 2>/dev/null || true
    args=() stdin=/dev/null stdout=/dev/null
    for a in "${parts[@]:1}"; do
      case $a in '<'*) stdin=$w/${a#<} ;; '>'*) stdout=$w/${a#>} ;; *) args+=("$a") ;; esac
    done
    if [[ $arch == x86_64 ]]; then
      (cd "$w" && env -i strace -f -qq -o "$w/trace" -- "$bin" "${args[@]}" <"$stdin" >"$stdout" 2>&1 || true)
      # The first line is strace starting the program (its execve), not the program's call.
      names=$(tail -n +2 "$w/trace" | sed -E 's/^[0-9]+ +//' | grep -oE '^[a-z_0-9]+\(' | tr -d '(' || true)
    else
      (cd "$w" && env -i qemu-aarch64 -0 "$app" -strace -D "$w/trace" "$bin" "${args[@]}" <"$stdin" >"$stdout" 2>&1 || true)
      # qemu names aarch64's call 79 newfstatat, the syscalls crate (and so the table) fstatat.
      names=$(grep -oE '^[0-9]+ [a-z_0-9]+\(' "$w/trace" | sed -E 's/^[0-9]+ //; s/\($//; s/^newfstatat$/fstatat/' || true)
    fi
    for n in $(sort -u <<<"$names"); do echo "$n $app"; done >>"$out/calls-$arch"
    rm -rf "$w"
  done
  echo "== $arch: system calls of the corpus on Linux (* = not in the personality's table: ENOSYS)"
  sort -u "$out/calls-$arch" | awk '{p[$1] = p[$1] ? p[$1] "," $2 : $2} END {for (c in p) print c, p[c]}' | sort |
    while read -r call progs; do
      mark=" "
      grep -qx "$arch $call" "$out/table" || mark="*"
      printf '%s %-20s %s\n' "$mark" "$call" "$progs"
    done
done
