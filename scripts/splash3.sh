#!/usr/bin/env bash
# Splash-3 (SPLASH-2 without its data races, threads by pthreads through m4 macros) built static
# for x86_64 and aarch64, with the inputs of its small runs (linux-apps/splash3/runs says how each
# program is run):
#
#   scripts/splash3.sh BUILD_DIR
#
#   BUILD_DIR/splash3/src               the source at $COMMIT, cloned from SPLASH3_URL (default
#                                       https://github.com/SakalisC/Splash-3)
#   BUILD_DIR/splash3/<arch>/<name>     splash3-fft, splash3-lu-contiguous, ... (PROGRAMS below)
#   BUILD_DIR/splash3/inputs/<name>/    the files its runs need, by the names they open
#   BUILD_DIR/splash3/logs/<name>-<arch>.log
#
# Each program is built with its own Makefile and the suite's Makefile.config (-O2, m4 with the
# pthread macros) plus -static, in a copy of its directory per architecture
# (BUILD_DIR/splash3/work/<arch>), so the two never share objects. Whatever cannot be fetched
# or built is reported on a line `SPLASH3: could not ...` on stderr and left out, and the script
# still exits 0: the tests that need it skip, loudly. Each piece leaves a stamp holding a key of
# what made it, so a second run does nothing unless the commit, a compiler or the runs changed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:?usage: scripts/splash3.sh BUILD_DIR}
mkdir -p "$BUILD"
BUILD=$(cd "$BUILD" && pwd)
S=$BUILD/splash3
RUNS=$ROOT/linux-apps/splash3/runs
URL=${SPLASH3_URL:-https://github.com/SakalisC/Splash-3}
COMMIT=e35efba59688a585275d19a16bc6f9371da978e0
# Large inputs no run uses (and which the local mirror lacks): never checked out.
SKIP_FILES=(/codes/apps/raytrace/inputs/car.geo /codes/apps/volrend/inputs/head.den)
# The thread counts the generated inputs are written for (fft, radix and ocean need powers of 2).
THREADS=(1 2 4 8)

# name in the build = directory under codes/ : the binary its Makefile makes.
PROGRAMS=(
  splash3-fft=kernels/fft:FFT
  splash3-lu-contiguous=kernels/lu/contiguous_blocks:LU
  splash3-lu-noncontiguous=kernels/lu/non_contiguous_blocks:LU
  splash3-radix=kernels/radix:RADIX
  splash3-cholesky=kernels/cholesky:CHOLESKY
  splash3-barnes=apps/barnes:BARNES
  splash3-fmm=apps/fmm:FMM
  splash3-ocean-contiguous=apps/ocean/contiguous_partitions:OCEAN
  splash3-ocean-noncontiguous=apps/ocean/non_contiguous_partitions:OCEAN
  splash3-water-nsquared=apps/water-nsquared:WATER-NSQUARED
  splash3-water-spatial=apps/water-spatial:WATER-SPATIAL
  splash3-raytrace=apps/raytrace:RAYTRACE
  splash3-volrend=apps/volrend:VOLREND
  splash3-radiosity=apps/radiosity:RADIOSITY
)
# architecture = toolchain prefix.
ARCHS=(x86_64=x86_64-linux-gnu- aarch64=aarch64-linux-gnu-)

log() { printf '[splash3] %s\n' "$*" >&2; }
# The line the tests and whoever reads the log must not miss.
loud() { printf 'SPLASH3: %s\n' "$*" >&2; }
# A log's most telling line: the first error (the compiler's, the linker's, m4's, git's), else
# make's, else the last non-empty line.
reason() {
  local r
  r=$(grep -m1 -E '(error|fatal):|undefined reference|^m4:' "$1" 2>/dev/null || true)
  [[ -n $r ]] || r=$(grep -m1 -E '\*\*\*' "$1" 2>/dev/null || true)
  [[ -n $r ]] || r=$(grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -1 || true)
  printf '%s' "${r:-no output (see $1)}"
}
key_of() { sha256sum | cut -c1-16; }
up_to_date() { # stamp key files...
  local name=$1 key=$2 f
  shift 2
  [[ $(cat "$S/stamps/$name" 2>/dev/null) == "$key" ]] || return 1
  for f in "$@"; do [[ -e $f ]] || return 1; done
}
stamp() { echo "$2" >"$S/stamps/$1"; }

# A statically linked ELF executable for $2 (x86_64 or aarch64)? (as in scripts/corpus.sh)
static_elf() { # file arch
  local machine
  case $2 in x86_64) machine='X86-64' ;; aarch64) machine='AArch64' ;; esac
  readelf -hW "$1" 2>/dev/null | grep -q "Machine:.*$machine" || { echo "not an ELF for $2"; return 1; }
  if readelf -lW "$1" 2>/dev/null | grep -q 'Requesting program interpreter'; then
    echo "dynamically linked"
    return 1
  fi
}

mkdir -p "$S/stamps" "$S/logs" "$S/inputs"

# --- the source ----------------------------------------------------------------------------------
# Without the source nothing here can be checked: no binaries or inputs of an older build stay.
fetch_failed() {
  loud "could not fetch Splash-3 ($URL at $COMMIT): $*"
  loud "the Splash-3 tests will be skipped"
  rm -rf "$S/src.tmp" "$S/work" "$S/inputs" "$S/stamps"
  local a
  for a in "${ARCHS[@]}"; do rm -rf "${S:?}/${a%%=*}"; done
}

fetch() {
  if up_to_date src "$COMMIT" "$S/src/codes/Makefile.config" &&
    [[ $(git -C "$S/src" rev-parse HEAD 2>/dev/null) == "$COMMIT" ]]; then
    log "source: up to date ($COMMIT)"
    return 0
  fi
  rm -f "$S/stamps/src"
  command -v git >/dev/null || { fetch_failed "no git"; return 1; }
  log "fetching $URL at $COMMIT"
  rm -rf "$S/src.tmp"
  # Blobs come on checkout (--filter=blob:none), so the sparse patterns keep the files no run
  # uses from being downloaded at all.
  local patterns=('/*') f
  for f in "${SKIP_FILES[@]}"; do patterns+=("!$f"); done
  if ! (export GIT_TERMINAL_PROMPT=0
    timeout 900 git clone -q --filter=blob:none --no-checkout "$URL" "$S/src.tmp" &&
      cd "$S/src.tmp" &&
      git sparse-checkout set --no-cone "${patterns[@]}" &&
      timeout 900 git checkout -q "$COMMIT") >"$S/logs/fetch.log" 2>&1; then
    fetch_failed "$(reason "$S/logs/fetch.log")"
    return 1
  fi
  rm -rf "$S/src"
  mv "$S/src.tmp" "$S/src"
  stamp src "$COMMIT"
  log "source: $COMMIT"
}

# --- the programs --------------------------------------------------------------------------------
build_failed() { # name arch reason
  loud "could not build $1 ($2): $3"
  rm -f "$S/$2/$1"
}

program() { # name=dir:binary arch prefix
  local name=${1%%=*} spec=${1#*=} arch=$2 prefix=$3
  local dir=${spec%%:*} bin=${spec#*:} cc=${3}gcc key vars
  command -v "$cc" >/dev/null || { build_failed "$name" "$arch" "no $cc (scripts/setup.sh installs it)"; return 0; }
  command -v m4 >/dev/null || { build_failed "$name" "$arch" "no m4 (scripts/setup.sh installs it)"; return 0; }
  # The suite's own flags (Makefile.config: -O2 -pthread -std=c11 ...) stay; -static is added to
  # the link. CC and AR are given for volrend's bundled libtiff, whose Makefile uses plain cc
  # and /usr/bin/ar.
  vars=("TOOLCHAIN_PREFIX=$prefix" "CC=${prefix}gcc" "AR=${prefix}ar" "LDFLAGS=-static -lm")
  key=$({ echo "$COMMIT $dir $bin"; echo "${vars[*]}"; "$cc" --version | head -1; gcc --version | head -1
    m4 --version | head -1; } | key_of)
  up_to_date "$name-$arch" "$key" "$S/$arch/$name" && return 0
  rm -f "$S/stamps/$name-$arch"
  log "building $name ($arch)"
  # A fresh copy of the program's directory, next to the suite's Makefile.config and macros
  # (Makefile.config finds them from its own place).
  local w=$S/work/$arch/codes
  mkdir -p "$w/$(dirname "$dir")"
  rm -rf "${w:?}/$dir"
  cp -r "$S/src/codes/$dir" "$w/$dir"
  cp "$S/src/codes/Makefile.config" "$w/"
  rm -rf "$w/pthread_macros"
  cp -r "$S/src/codes/pthread_macros" "$w/"
  local logf=$S/logs/$name-$arch.log
  # A calling make's flags (-j, its variables) are not for these Makefiles.
  if ! (unset MAKEFLAGS MFLAGS MAKELEVEL
    # volrend's libtiff makes g3states.h with a program of its own: built and run on the host.
    if [[ -d $w/$dir/libtiff ]]; then make -C "$w/$dir/libtiff" CC=gcc g3states.h || exit 1; fi
    make -C "$w/$dir" "${vars[@]}") >"$logf" 2>&1; then
    build_failed "$name" "$arch" "$(reason "$logf")"
    return 0
  fi
  local msg
  msg=$(static_elf "$w/$dir/$bin" "$arch") || { build_failed "$name" "$arch" "$msg"; return 0; }
  mkdir -p "$S/$arch"
  cp "$w/$dir/$bin" "$S/$arch/$name.tmp"
  mv -f "$S/$arch/$name.tmp" "$S/$arch/$name"
  stamp "$name-$arch" "$key"
  log "built $name ($arch)"
}

# --- the inputs ----------------------------------------------------------------------------------
# From the runs file: `files NAME PATH...` are copied from the program's source directory under
# the same relative names; `input NAME PATH TEXT` are written (TEXT with \n for a newline, one
# file per thread count when PATH holds {P}).
inputs() { # name=dir:binary
  local name=${1%%=*} spec=${1#*=}
  local dir=${spec%%:*} lines key
  lines=$(awk -v n="$name" '($1 == "files" || $1 == "input") && $2 == n' "$RUNS")
  [[ -n $lines ]] || return 0
  key=$({ echo "$COMMIT ${THREADS[*]}"; echo "$lines"; } | key_of)
  up_to_date "inputs-$name" "$key" "$S/inputs/$name" && return 0
  rm -f "$S/stamps/inputs-$name"
  local d=$S/inputs/$name kind n rest path text p f
  rm -rf "$d"
  mkdir -p "$d"
  while read -r kind n rest; do
    case $kind in
      files)
        for f in $rest; do
          if [[ ! -f $S/src/codes/$dir/$f ]]; then
            loud "could not copy the input $f of $name: no codes/$dir/$f in the source"
            rm -rf "$d"
            return 0
          fi
          mkdir -p "$d/$(dirname "$f")"
          cp "$S/src/codes/$dir/$f" "$d/$f"
        done
        ;;
      input)
        path=${rest%% *}
        text=${rest#* }
        for p in "${THREADS[@]}"; do
          f=$d/${path//\{P\}/$p}
          mkdir -p "$(dirname "$f")"
          printf '%b' "${text//\{P\}/$p}" >"$f"
          [[ $path == *'{P}'* ]] || break
        done
        ;;
    esac
  done <<<"$lines"
  stamp "inputs-$name" "$key"
}

fetch || exit 0
for p in "${PROGRAMS[@]}"; do
  for a in "${ARCHS[@]}"; do program "$p" "${a%%=*}" "${a#*=}"; done
  inputs "$p"
done
summary=()
for a in "${ARCHS[@]}"; do
  n=0
  for p in "${PROGRAMS[@]}"; do
    if [[ -e $S/${a%%=*}/${p%%=*} ]]; then n=$((n + 1)); fi
  done
  summary+=("${a%%=*} $n/${#PROGRAMS[@]}")
done
log "Splash-3 in $S (built: ${summary[*]})"
