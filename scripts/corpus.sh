#!/usr/bin/env bash
# The corpus of real static Linux programs that the system tests run as replicas, for x86_64 and
# aarch64 (`make corpus`; scripts/test.sh runs it after the set-up):
#
#   scripts/corpus.sh BUILD_DIR
#
#   BUILD_DIR/corpus/<arch>/   busybox bash-static zsh-static sash e2fsck.static mksh-musl
#                              mksh-klibc mksh-diet (Debian bookworm's static builds) and VERSIONS
#                              (their package versions); cxx, calls, cxx-threads, omp,
#                              rust-std and gothreads (built from linux-apps/corpus/cxx.cpp,
#                              calls.c, cxx-threads.cpp, omp.c, rust-std/ and go/)
#   BUILD_DIR/corpus/inputs/   fs.img (a 1 MiB ext2 image), t.gz (text.txt, gzipped)
#
# The Debian packages are downloaded for both architectures with apt-get under a private
# configuration (BUILD_DIR/corpus/apt: its own sources.list, package lists, cache and an empty
# dpkg status), from CORPUS_MIRROR (default http://deb.debian.org/debian): nothing is installed
# and no dpkg architecture is added. Whatever cannot be fetched or built is reported on a line
# `CORPUS: could not ...` on stderr and left out entirely (never a partial set), and the script
# still exits 0: the tests that need it skip, loudly. Each piece leaves a stamp holding a key of
# what made it, so a second run does nothing unless the inputs (the package list below, a
# program's source, its compiler) changed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:?usage: scripts/corpus.sh BUILD_DIR}
mkdir -p "$BUILD"
BUILD=$(cd "$BUILD" && pwd)
C=$BUILD/corpus
SRC=$ROOT/linux-apps/corpus
MIRROR=${CORPUS_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# --- what the corpus holds ------------------------------------------------------------------------
PKGS=(busybox-static bash-static zsh-static sash mksh e2fsck-static)
# Debian architecture and the corpus directory (the architecture's name in this project).
ARCHS=(amd64:x86_64 arm64:aarch64)
# name in the corpus = path in the extracted packages (@ARCH@: x86_64 or aarch64).
FILES=(
  busybox=bin/busybox
  bash-static=bin/bash-static
  zsh-static=bin/zsh-static
  sash=bin/sash
  e2fsck.static=sbin/e2fsck.static
  mksh-musl=usr/lib/@ARCH@-linux-musl/bin/mksh
  mksh-klibc=usr/lib/klibc/bin/mksh
  mksh-diet=usr/lib/diet/bin/mksh
)

log() { printf '[corpus] %s\n' "$*" >&2; }
# The line the tests and whoever reads the log must not miss.
loud() { printf 'CORPUS: %s\n' "$*" >&2; }
# A log file's most telling line: apt's first error, else the last non-empty line.
reason() {
  local r
  r=$(grep -m1 -E '^(E|W): ' "$1" 2>/dev/null || true)
  [[ -n $r ]] || r=$(grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -1 || true)
  printf '%s' "${r:-no output (see $1)}"
}
key_of() { sha256sum | cut -c1-16; }
# Whether stamp $1 holds key $2 and every file after them exists.
up_to_date() {
  local name=$1 key=$2 f
  shift 2
  [[ $(cat "$C/stamps/$name" 2>/dev/null) == "$key" ]] || return 1
  for f in "$@"; do [[ -e $f ]] || return 1; done
}
stamp() { echo "$2" >"$C/stamps/$1"; }

# A statically linked ELF executable for the corpus directory $2 (x86_64 or aarch64)? Checked
# with readelf (binutils, always there with gcc; `file` may not be installed).
static_elf() { # file arch
  local machine
  case $2 in x86_64) machine='X86-64' ;; aarch64) machine='AArch64' ;; esac
  readelf -hW "$1" 2>/dev/null | grep -q "Machine:.*$machine" || { echo "not an ELF for $2"; return 1; }
  if readelf -lW "$1" 2>/dev/null | grep -q 'Requesting program interpreter'; then
    echo "dynamically linked"
    return 1
  fi
}

mkdir -p "$C/stamps" "$C/logs" "$C/inputs"
for a in "${ARCHS[@]}"; do mkdir -p "$C/${a#*:}"; done

# --- the Debian packages -------------------------------------------------------------------------
# Removes the fetched binaries and VERSIONS (not our own programs): no partial set stays behind.
remove_fetched() {
  local a f
  for a in "${ARCHS[@]}"; do
    for f in "${FILES[@]}"; do rm -f "$C/${a#*:}/${f%%=*}"; done
    rm -f "$C/${a#*:}/VERSIONS"
  done
}

fetch_failed() {
  loud "could not fetch the Debian packages (${PKGS[*]}) from $MIRROR: $*"
  loud "the corpus tests that run them will be skipped"
  remove_fetched
  rm -rf "$C/stage"
}

fetch() {
  local key
  key=$(printf '%s\n' "$SUITE" "${PKGS[@]}" "${ARCHS[@]}" "${FILES[@]}" | key_of)
  local want=() a f
  for a in "${ARCHS[@]}"; do
    want+=("$C/${a#*:}/VERSIONS")
    for f in "${FILES[@]}"; do want+=("$C/${a#*:}/${f%%=*}"); done
  done
  if up_to_date fetch "$key" "${want[@]}"; then
    log "Debian packages: up to date"
    return 0
  fi
  rm -f "$C/stamps/fetch"
  # An older list's binaries would pass for this one's: they go before anything is fetched.
  remove_fetched
  [[ -r $KEYRING ]] || { fetch_failed "no $KEYRING (Debian's debian-archive-keyring package)"; return 0; }
  local t
  for t in apt-get dpkg-deb; do
    command -v "$t" >/dev/null || { fetch_failed "no $t"; return 0; }
  done

  # The private apt configuration: apt-get reads and writes only under $D, so the host's
  # sources, package lists, cache and dpkg database (and its architectures) stay as they are.
  # The host's apt.conf.d is still read, for its proxy settings.
  local D=$C/apt
  mkdir -p "$D/state/lists/partial" "$D/cache/archives/partial"
  : >"$D/state/status"
  echo "deb [signed-by=$KEYRING] $MIRROR $SUITE main" >"$D/sources.list"
  local A=(-o "Dir::Etc::SourceList=$D/sources.list" -o Dir::Etc::SourceParts=/nonexistent
    -o "Dir::State=$D/state" -o "Dir::State::status=$D/state/status" -o "Dir::Cache=$D/cache"
    -o APT::Architecture=amd64 -o APT::Architectures::=amd64 -o APT::Architectures::=arm64
    -o Debug::NoLocking=1 -o Acquire::Languages=none -o Acquire::http::Timeout=60)
  # As root, apt-get fetches as the _apt user, which cannot write into $C: fetch as root instead.
  [[ $(id -u) -eq 0 ]] && A+=(-o APT::Sandbox::User=root)

  log "fetching ${PKGS[*]} for amd64 and arm64 from $MIRROR ($SUITE)"
  # --error-on=any: without it, apt-get update exits 0 when the mirror cannot be reached.
  if ! timeout 900 apt-get "${A[@]}" -q --error-on=any update >"$C/logs/apt-update.log" 2>&1; then
    fetch_failed "apt-get update: $(reason "$C/logs/apt-update.log")"
    return 0
  fi
  rm -rf "$C/debs" "$C/stage"
  mkdir -p "$C/debs"
  local names=() p
  for p in "${PKGS[@]}"; do
    for a in "${ARCHS[@]}"; do names+=("$p:${a%%:*}"); done
  done
  if ! (cd "$C/debs" && timeout 900 apt-get "${A[@]}" -q download "${names[@]}") \
    >"$C/logs/apt-download.log" 2>&1; then
    fetch_failed "apt-get download: $(reason "$C/logs/apt-download.log")"
    return 0
  fi

  # Everything is extracted and checked in $C/stage first; only a complete set is moved in.
  local deb arch dir name path msg
  for deb in "$C"/debs/*.deb; do
    arch=$(dpkg-deb -f "$deb" Architecture)
    for a in "${ARCHS[@]}"; do
      [[ ${a%%:*} == "$arch" ]] || continue
      dir=${a#*:}
      mkdir -p "$C/stage/$dir/root"
      dpkg-deb -x "$deb" "$C/stage/$dir/root" || { fetch_failed "dpkg-deb -x $(basename "$deb") failed"; return 0; }
      # "package version", one a line.
      dpkg-deb -f "$deb" Package Version | sed 's/^[^:]*: //' | paste -sd' ' >>"$C/stage/$dir/VERSIONS"
    done
  done
  for a in "${ARCHS[@]}"; do
    dir=${a#*:}
    for f in "${FILES[@]}"; do
      name=${f%%=*}
      path=${f#*=}
      path=${path//@ARCH@/$dir}
      [[ -f $C/stage/$dir/root/$path ]] || { fetch_failed "no $path in the $dir packages"; return 0; }
      msg=$(static_elf "$C/stage/$dir/root/$path" "$dir") || { fetch_failed "$dir/$path: $msg"; return 0; }
      cp "$C/stage/$dir/root/$path" "$C/stage/$dir/$name"
    done
    sort -o "$C/stage/$dir/VERSIONS" "$C/stage/$dir/VERSIONS"
  done
  for a in "${ARCHS[@]}"; do
    dir=${a#*:}
    for f in "${FILES[@]}"; do mv -f "$C/stage/$dir/${f%%=*}" "$C/$dir/"; done
    mv -f "$C/stage/$dir/VERSIONS" "$C/$dir/VERSIONS"
  done
  rm -rf "$C/stage"
  stamp fetch "$key"
  log "Debian packages: $(sed 's/ /=/' "$C/x86_64/VERSIONS" | paste -sd' ')"
}

# --- our own programs ----------------------------------------------------------------------------
build_failed() { # program arch reason
  loud "could not build $1 ($2): $3"
  rm -f "$C/$2/$1"
}

# A build's output is checked and moved into place, with its stamp.
install_built() { # program arch built-file key
  local msg
  msg=$(static_elf "$3" "$2") || { build_failed "$1" "$2" "$msg"; return 0; }
  cp "$3" "$C/$2/$1.tmp"
  mv -f "$C/$2/$1.tmp" "$C/$2/$1"
  stamp "$1-$2" "$4"
  log "built $1 ($2)"
}

# One of our C or C++ programs, static: its name, its source in linux-apps/corpus, the x86_64
# and the aarch64 compiler, the architecture, the flags.
ours() { # name source cc-x86_64 cc-aarch64 arch flags...
  local name=$1 src=$SRC/$2 arch=$5 cc key
  case $arch in x86_64) cc=$3 ;; aarch64) cc=$4 ;; esac
  local flags=("${@:6}")
  command -v "$cc" >/dev/null || {
    build_failed "$name" "$arch" "no $cc (scripts/setup.sh installs it)"
    return 0
  }
  key=$({ cat "$src"; "$cc" --version 2>/dev/null | head -1; echo "${flags[*]}"; } | key_of)
  up_to_date "$name-$arch" "$key" "$C/$arch/$name" && return 0
  rm -f "$C/stamps/$name-$arch"
  log "building $name ($arch)"
  if ! "$cc" "${flags[@]}" -o "$C/logs/$name-$arch.out" "$src" >"$C/logs/$name-$arch.log" 2>&1; then
    build_failed "$name" "$arch" "$(reason "$C/logs/$name-$arch.log")"
    return 0
  fi
  install_built "$name" "$arch" "$C/logs/$name-$arch.out" "$key"
  rm -f "$C/logs/$name-$arch.out"
}

# Our Go program (linux-apps/corpus/go), with Debian's Go: static (CGO_ENABLED=0), the
# architecture by GOARCH, the build cache and module mode kept in the corpus' directory.
go_program() { # arch
  local arch=$1 goarch key
  case $arch in x86_64) goarch=amd64 ;; aarch64) goarch=arm64 ;; esac
  command -v go >/dev/null || { build_failed gothreads "$arch" "no go (scripts/setup.sh installs golang-go)"; return 0; }
  key=$({ cat "$SRC/go/main.go" "$SRC/go/go.mod"; go version; } | key_of)
  up_to_date "gothreads-$arch" "$key" "$C/$arch/gothreads" && return 0
  rm -f "$C/stamps/gothreads-$arch"
  log "building gothreads ($arch)"
  if ! (cd "$SRC/go" && CGO_ENABLED=0 GOARCH=$goarch GOFLAGS=-mod=mod GOCACHE=$C/go-cache \
      GOPATH=$C/go-path go build -o "$C/logs/gothreads-$arch.out" .) >"$C/logs/gothreads-$arch.log" 2>&1; then
    build_failed gothreads "$arch" "$(reason "$C/logs/gothreads-$arch.log")"
    return 0
  fi
  install_built gothreads "$arch" "$C/logs/gothreads-$arch.out" "$key"
  rm -f "$C/logs/gothreads-$arch.out"
}

# The aarch64 standard library is not installed (and rustup may not be able to download it): it is
# built from the sources with -Z build-std, by the toolchain the seL4 build uses, through
# scripts/sel4-cargo ($BUILD/toolchain.env: the pinned nightly with rust-src, or Debian's rustc-web
# with rust-web-src under RUSTC_BOOTSTRAP). Before the full set-up has written toolchain.env, the
# pinned nightly is used directly if rustup has it.
rust_std() { # arch
  local arch=$1 triple=$1-unknown-linux-gnu cargo=() toolchain key
  local ws=$SRC/rust-std
  case $arch in
    x86_64)
      command -v cargo >/dev/null || { build_failed rust-std "$arch" "no cargo (scripts/setup.sh host)"; return 0; }
      cargo=(cargo build)
      toolchain=$(rustc -vV 2>/dev/null || cargo --version)
      ;;
    aarch64)
      local nightly
      nightly=$(sed -n 's/^NIGHTLY=\([^ ]*\).*/\1/p' "$ROOT/scripts/setup.sh")
      if [[ -s $BUILD/toolchain.env ]]; then
        cargo=(env ROMAIN_BUILD="$BUILD" "$ROOT/scripts/sel4-cargo" build)
        toolchain=$(cat "$BUILD/toolchain.env")
      elif cargo "+$nightly" --version >/dev/null 2>&1; then
        cargo=(cargo "+$nightly" build)
        toolchain=$nightly
      else
        build_failed rust-std "$arch" "no toolchain for -Z build-std: no $BUILD/toolchain.env and no $nightly (run scripts/setup.sh full)"
        return 0
      fi
      cargo+=(-Z build-std=std,panic_unwind)
      ;;
  esac
  key=$({
    cat "$ws/Cargo.toml" "$ws/Cargo.lock"
    find "$ws/src" -type f -print0 | sort -z | xargs -0 cat
    echo "$toolchain"
  } | key_of)
  up_to_date "rust-std-$arch" "$key" "$C/$arch/rust-std" && return 0
  rm -f "$C/stamps/rust-std-$arch"
  log "building rust-std ($arch)"
  if ! (cd "$ws" && env CARGO_TARGET_DIR="$C/target" RUSTFLAGS='-C target-feature=+crt-static' \
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
    "${cargo[@]}" --release --locked --target "$triple") >"$C/logs/rust-std-$arch.log" 2>&1; then
    build_failed rust-std "$arch" "$(grep -m1 '^error' "$C/logs/rust-std-$arch.log" || reason "$C/logs/rust-std-$arch.log")"
    return 0
  fi
  install_built rust-std "$arch" "$C/target/$triple/release/rust-std" "$key"
}

# --- inputs --------------------------------------------------------------------------------------
inputs() {
  local in=$C/inputs key
  key=$(key_of <"$SRC/text.txt")
  if ! up_to_date t.gz "$key" "$in/t.gz"; then
    gzip -n -c "$SRC/text.txt" >"$in/t.gz.tmp"
    mv -f "$in/t.gz.tmp" "$in/t.gz"
    stamp t.gz "$key"
  fi

  # mke2fs lives in /sbin, which a user's PATH may lack.
  local mke2fs
  mke2fs=$(PATH=$PATH:/usr/sbin:/sbin command -v mke2fs || true)
  if [[ -z $mke2fs ]]; then
    loud "could not make inputs/fs.img: no mke2fs (Debian's e2fsprogs); the tests that use it will be skipped"
    rm -f "$in/fs.img" "$C/stamps/fs.img"
    return 0
  fi
  # Fixed UUID, hash seed and time: the same image on every run. E2FSPROGS_FAKE_TIME=0 would
  # mean "no fake time" to e2fsprogs 1.47, hence 1 (1970-01-01 00:00:01).
  local opts=(-q -F -t ext2 -b 1024 -U 01234567-89ab-cdef-0123-456789abcdef
    -E hash_seed=01234567-89ab-cdef-0123-456789abcdef)
  key=$({ echo "${opts[*]}"; "$mke2fs" -V 2>&1 | head -1; } | key_of)
  up_to_date fs.img "$key" "$in/fs.img" && return 0
  rm -f "$in/fs.img.tmp"
  # The file exists beforehand (1 MiB: 1024 blocks of 1 KiB), so mke2fs prints nothing.
  truncate -s 1M "$in/fs.img.tmp"
  if ! E2FSPROGS_FAKE_TIME=1 "$mke2fs" "${opts[@]}" "$in/fs.img.tmp" >"$C/logs/mke2fs.log" 2>&1; then
    loud "could not make inputs/fs.img: $(reason "$C/logs/mke2fs.log")"
    rm -f "$in/fs.img" "$in/fs.img.tmp" "$C/stamps/fs.img"
    return 0
  fi
  mv -f "$in/fs.img.tmp" "$in/fs.img"
  stamp fs.img "$key"
}

fetch
inputs
for arch in x86_64 aarch64; do
  ours cxx cxx.cpp g++ aarch64-linux-gnu-g++ "$arch" -static -O2 -std=c++17
  ours calls calls.c gcc aarch64-linux-gnu-gcc "$arch" -static -O2
  ours cxx-threads cxx-threads.cpp g++ aarch64-linux-gnu-g++ "$arch" -static -O2 -std=c++17 -pthread
  ours omp omp.c gcc aarch64-linux-gnu-gcc "$arch" -static -O2 -fopenmp
  go_program "$arch"
  rust_std "$arch"
done
log "corpus in $C"
