#!/usr/bin/env bash
# One-step, idempotent set-up for Romain for seL4 on Debian/Ubuntu (also what docker/Dockerfile runs).
#
#   scripts/setup.sh [host|full]
#
#   host  Debian packages and the host Rust toolchain: enough for the host tests.
#   full  (default) also clones seL4 16.0.0 and rust-sel4 v5.0.0 from upstream, builds and
#         installs every kernel configuration in cmake/, prepares the seL4 Rust toolchain and
#         builds the aarch64 kernel loader.
#
# Everything goes under $ROMAIN_BUILD (default: ./build). Each step leaves a stamp so a second run
# costs seconds. Exit code 3 means "upstream seL4 sources unreachable": the caller may still run
# the host tests and must say that the system tests were skipped.
set -euo pipefail

MODE=${1:-full}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${ROMAIN_BUILD:-$ROOT/build}
SEL4_URL=${SEL4_URL:-https://github.com/seL4/seL4.git}
SEL4_TAG=16.0.0
RUST_SEL4_URL=${RUST_SEL4_URL:-https://github.com/seL4/rust-sel4.git}
RUST_SEL4_TAG=v5.0.0
NIGHTLY=nightly-2026-04-04 # what rust-sel4 v5.0.0 pins
PLATFORMS=${ROMAIN_PLATFORMS:-"qemu-arm-virt pc99 rpi4"}
# Kernel flavour: production (the default) or debug (cmake/debug.cmake, installed beside it).
KERNEL=${ROMAIN_KERNEL:-production}
case $KERNEL in
  production) FLAVOUR_CMAKE=() SUFFIX="" ;;
  debug) FLAVOUR_CMAKE=("$ROOT/cmake/debug.cmake") SUFFIX="-debug" ;;
  *) echo "[setup] KERNEL must be production or debug, not $KERNEL" >&2; exit 2 ;;
esac

mkdir -p "$BUILD/stamps"
log() { printf '[setup] %s\n' "$*" >&2; }
stamp() { [[ -e "$BUILD/stamps/$1" ]]; }
done_() { touch "$BUILD/stamps/$1"; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

# --- Debian packages ---------------------------------------------------------------------------
APT_PKGS=(build-essential git make cmake ninja-build python3 python3-venv python3-pip
  gcc-aarch64-linux-gnu g++-aarch64-linux-gnu device-tree-compiler libxml2-utils cpio clang
  libclang-dev qemu-system-arm qemu-system-x86 curl ca-certificates
  libc6-dev-arm64-cross qemu-user libtirpc-dev musl-tools golang-go m4)
# Debian's Rust (see host_rust and sel4_rust below): the seL4 targets' compiler, its sources for
# -Z build-std and lld as rust-lld; and, on a machine with no cargo at all, cargo, rustfmt and clippy.
APT_RUST_PKGS=(rustc-web rust-web-src lld-22)
APT_CARGO_PKGS=(cargo-web rustfmt-web rust-web-clippy)

apt_missing() {
  local p missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  echo "${missing[@]:-}"
}

install_packages() {
  local missing
  missing=$(apt_missing "${APT_PKGS[@]}")
  # QEMU 7.2 (Debian 12) cannot be installed next to a newer qemu-utils (it Breaks
  # qemu-system-common < 8), and refuses to start next to one (shared block modules). New
  # machines of this kind come with qemu-utils 10 from backports, so qemu-utils is pinned to the
  # version of the qemu-system packages in the same apt transaction, downgrading it if need be.
  local qv uv pins=()
  qv=$(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null || true)
  uv=$(dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null || true)
  if [[ -n "$missing" || ( -n "$uv" && "$qv" != "$uv" ) ]]; then
    log "installing Debian packages: ${missing:-(none)}"
    as_root apt-get update -qq
    if [[ -z "$qv" ]]; then
      qv=$(apt-cache policy qemu-system-x86 | awk '/Candidate:/ {print $2}')
    fi
    if [[ -n "$qv" && "$qv" != "(none)" && "$uv" != "$qv" ]]; then
      [[ -n "$uv" ]] && log "qemu-utils $uv is installed: pinning it to $qv with the QEMU system packages"
      pins=("qemu-utils=$qv" "qemu-system-x86=$qv" "qemu-system-arm=$qv" "qemu-user=$qv")
      missing=$(printf '%s\n' $missing | grep -vx -e qemu-system-x86 -e qemu-system-arm -e qemu-user | tr '\n' ' ' || true)
    fi
    # shellcheck disable=SC2086
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --allow-downgrades $missing "${pins[@]}" >/dev/null
  fi
}

# --- Rust ----------------------------------------------------------------------------------------
# Host tests need a cargo of Rust 1.85 or later (edition 2024). The seL4 targets need -Z build-std:
# the nightly that rust-sel4 v5.0.0 pins, with rust-src, where rustup is installed and can download
# it; otherwise Debian's rustc-web with rust-web-src under RUSTC_BOOTSTRAP=1. Nothing is downloaded
# outside the package registries: where there is no cargo, Debian's cargo-web is installed (never
# rustup). Debian's cargo cannot check out git dependencies (its libgit2 fails with "invalid
# version 0 on git_proxy_options"), so with it the rust-sel4 crates come from the clone in
# $BUILD/src/rust-sel4 through path patches that scripts/sel4-cargo adds on the command line
# (SEL4_RUST_SEL4=path), with the lock files kept under $BUILD/locks: the repository's Cargo.toml
# and Cargo.lock files are never touched. The choice is written to $BUILD/toolchain.env, which
# scripts/sel4-cargo reads.
apt_install() {
  local missing
  missing=$(apt_missing "$@")
  [[ -z "$missing" ]] && return 0
  log "installing Debian packages: $missing"
  as_root apt-get update -qq
  # shellcheck disable=SC2086
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
}

cargo_minor() { { "${1:-cargo}" --version 2>/dev/null || true; } | sed -nE 's/^cargo 1\.([0-9]+).*/\1/p'; }

host_rust() {
  local minor
  minor=$(cargo_minor)
  [[ -n $minor ]] && ((minor >= 85)) && return 0
  if [[ -n $minor ]]; then
    log "cargo 1.$minor is too old (edition 2024 needs 1.85): installing Debian's Rust 1.96"
  else
    log "no cargo: installing Debian's Rust toolchain (not rustup)"
  fi
  apt_install "${APT_CARGO_PKGS[@]}" "${APT_RUST_PKGS[@]}"
  hash -r
  minor=$(cargo_minor)
  [[ -n $minor ]] && ((minor >= 85)) || { log "no usable cargo after installing ${APT_CARGO_PKGS[*]}"; exit 1; }
}

# Whether a cargo can check out a git dependency: a throwaway crate depending on a throwaway local
# repository, with a throwaway CARGO_HOME (nothing is downloaded).
cargo_fetches_git() { # cargo
  local d rc=0
  d=$(mktemp -d)
  mkdir -p "$d/dep/src" "$d/top/src"
  : >"$d/dep/src/lib.rs"
  : >"$d/top/src/lib.rs"
  printf '[package]\nname = "dep"\nversion = "0.0.0"\nedition = "2021"\n' >"$d/dep/Cargo.toml"
  printf '[package]\nname = "top"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\ndep = { git = "file://%s/dep" }\n' \
    "$d" >"$d/top/Cargo.toml"
  { git -C "$d/dep" init -q && git -C "$d/dep" add -A &&
    git -C "$d/dep" -c user.name=probe -c user.email=probe@localhost commit -qm probe; } >"$d/log" 2>&1 || rc=1
  if ((rc == 0)); then
    (cd "$d/top" && CARGO_HOME=$d/home timeout 120 "$1" generate-lockfile) >"$d/log" 2>&1 || rc=1
  fi
  ((rc == 0)) || log "$1 cannot fetch git dependencies: $(grep -v '^ *$' "$d/log" | tail -1 | sed 's/^ *//')"
  rm -rf "$d"
  return $rc
}

sel4_rust() {
  local env=$BUILD/toolchain.env
  [[ -s $env ]] && return 0
  if command -v rustup >/dev/null; then
    if timeout 300 rustup toolchain install "$NIGHTLY" --profile minimal --component rust-src \
      >"$BUILD/rustup.log" 2>&1; then
      log "seL4 toolchain: $NIGHTLY (rustup)"
      cat >"$env" <<EOF
SEL4_CARGO="cargo +$NIGHTLY"
SEL4_ZFLAGS="-Zjson-target-spec"
SEL4_RUSTC=""
SEL4_RUST_SEL4=git
EOF
      return 0
    fi
    log "rustup cannot install $NIGHTLY: $(grep -v '^ *$' "$BUILD/rustup.log" | tail -1)"
  fi
  log "seL4 toolchain: Debian's rustc-web with rust-web-src (RUSTC_BOOTSTRAP=1)"
  apt_install "${APT_RUST_PKGS[@]}"
  mkdir -p "$BUILD/bin"
  ln -sf "$(command -v ld.lld-22 || echo /usr/lib/llvm-22/bin/ld.lld)" "$BUILD/bin/rust-lld"
  # rustup's stable cargo where there is one (it fetches git dependencies), else Debian's.
  local cargo_bin deps=git zflags=""
  cargo_bin=$(rustup which cargo --toolchain stable 2>/dev/null || command -v cargo)
  cargo_fetches_git "$cargo_bin" || deps=path
  # cargo 1.96 (like the nightly) wants -Zjson-target-spec for JSON targets; older ones refuse it.
  if RUSTC_BOOTSTRAP=1 "$cargo_bin" -Z help 2>/dev/null | grep -q json-target-spec; then
    zflags="-Zjson-target-spec"
  fi
  if [[ $deps == path ]]; then
    log "rust-sel4 crates: path patches into $BUILD/src/rust-sel4 (scripts/sel4-cargo)"
  fi
  cat >"$env" <<EOF
SEL4_CARGO="$cargo_bin"
SEL4_ZFLAGS="$zflags"
SEL4_RUSTC=/usr/bin/rustc
SEL4_RUSTFLAGS="-Zunstable-options"
SEL4_RUST_SEL4=$deps
EOF
}

# --- seL4 and rust-sel4 sources -----------------------------------------------------------------
clone() { # url tag dir
  local url=$1 tag=$2 dir=$3
  if [[ -d $dir/.git ]] && [[ $(git -C "$dir" describe --tags --exact-match 2>/dev/null) == "$tag" ]]; then
    return 0
  fi
  rm -rf "$dir.tmp"
  log "cloning $url at $tag"
  if ! timeout 600 git clone -q --depth 1 --branch "$tag" "$url" "$dir.tmp" 2>"$BUILD/clone.err"; then
    log "cannot reach $url: $(tail -1 "$BUILD/clone.err")"
    rm -rf "$dir.tmp"
    return 3
  fi
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
}

# patches/seL4-*.patch, applied once to the clone (a patch already in reverses cleanly).
patch_sel4() {
  local p
  for p in "$ROOT"/patches/seL4-*.patch; do
    git -C "$BUILD/src/seL4" apply --reverse --check "$p" 2>/dev/null && continue
    log "applying $(basename "$p") to seL4"
    git -C "$BUILD/src/seL4" apply "$p" || { log "cannot apply $p"; exit 1; }
  done
}

python_env() {
  stamp venv && return 0
  log "creating the Python venv for the seL4 kernel build"
  python3 -m venv "$BUILD/venv"
  "$BUILD/venv/bin/pip" install -q --upgrade pip
  # The kernel build's own Python needs (tools/*.py, hardware_gen.py).
  "$BUILD/venv/bin/pip" install -q jinja2 ply pyyaml pyfdt lxml six future jsonschema guardonce
  done_ venv
}

# --- kernels -------------------------------------------------------------------------------------
# Identifies a platform's kernel configuration: a change rebuilds the kernel and its loader.
# Our patches to seL4 are part of it.
config_key() { cat "$ROOT/cmake/common.cmake" "$ROOT/cmake/$1.cmake" "${FLAVOUR_CMAKE[@]}" "$ROOT"/patches/seL4-*.patch | sha256sum | cut -c1-16; }

kernel() { # platform-settings-name
  local plat=$1 out=$BUILD/kernel/$1$SUFFIX
  local key
  key=$(config_key "$plat")
  # The key of what is installed (a stamp per key would be fooled by A -> B -> A).
  [[ $(cat "$out/config.key" 2>/dev/null) == "$key" ]] && return 0
  log "building seL4 $SEL4_TAG for $plat ($KERNEL kernel)"
  local cross=()
  grep -q 'KernelSel4Arch aarch64' "$ROOT/cmake/$plat.cmake" && cross=(-DCROSS_COMPILER_PREFIX=aarch64-linux-gnu-)
  rm -rf "$out"
  mkdir -p "$out/build"
  (
    cd "$out/build"
    PATH=$BUILD/venv/bin:$PATH cmake -G Ninja -Wno-dev \
      -DCMAKE_TOOLCHAIN_FILE="$BUILD/src/seL4/gcc.cmake" "${cross[@]}" \
      -DCMAKE_INSTALL_PREFIX="$out/install" \
      -C "$ROOT/cmake/common.cmake" -C "$ROOT/cmake/$plat.cmake" "${FLAVOUR_CMAKE[@]/#/-C}" \
      "$BUILD/src/seL4" >"$out/cmake.log" 2>&1 || { tail -30 "$out/cmake.log"; exit 1; }
    PATH=$BUILD/venv/bin:$PATH ninja install >"$out/ninja.log" 2>&1 || { tail -30 "$out/ninja.log"; exit 1; }
  )
  echo "$key" >"$out/config.key"
}

# --- aarch64 kernel loader -----------------------------------------------------------------------
# rust-sel4's loader and its add-payload tool, built per aarch64 platform (the loader embeds the
# platform's memory map). They are built from the cloned sources in a standalone workspace whose
# dependencies on other rust-sel4 crates are git dependencies on the same tag (building inside the
# rust-sel4 workspace would resolve all of its members, and their forks, for nothing), or, with a
# cargo that cannot fetch git dependencies (SEL4_RUST_SEL4=path), path dependencies into the clone.
loader_workspace() {
  local ws=$BUILD/loader-ws src=$BUILD/src/rust-sel4/crates/sel4-kernel-loader deps
  deps=$(sed -n 's/^SEL4_RUST_SEL4=//p' "$BUILD/toolchain.env")
  deps=${deps:-git}
  if [[ -f $ws/Cargo.toml ]]; then
    local have
    have=$(sed -n 's/^# rust-sel4: //p' "$ws/Cargo.toml")
    [[ ${have:-git} == "$deps" ]] && return 0
  fi
  rm -rf "$ws" && mkdir -p "$ws"
  cp -r "$src" "$ws/loader"
  rm -rf "$ws/loader/payload-types"
  local toml dir
  for toml in Cargo.toml add-payload/Cargo.toml; do
    if [[ $deps == path ]]; then
      dir=$(dirname "$src/$toml")
      sed -E -i "s|path = \"([^\"]*)\"|path = \"$dir/\\1\"|" "$ws/loader/$toml"
    else
      sed -E -i "s|path = \"[^\"]*\"|git = \"$RUST_SEL4_URL\", tag = \"$RUST_SEL4_TAG\"|" "$ws/loader/$toml"
    fi
  done
  printf '# rust-sel4: %s\n[workspace]\nresolver = "3"\nmembers = ["loader", "loader/add-payload"]\n' \
    "$deps" >"$ws/Cargo.toml"
}

loader() { # platform
  local plat=$1 out=$BUILD/loader/$1$SUFFIX
  local key
  key=$(config_key "$plat")
  [[ $(cat "$out/config.key" 2>/dev/null) == "$key" ]] && [[ -x $out/sel4-kernel-loader-add-payload ]] && return 0
  log "building sel4-kernel-loader for $plat ($KERNEL kernel)"
  loader_workspace
  mkdir -p "$out"
  local cargo=("$ROOT/scripts/sel4-cargo") ws=$BUILD/loader-ws
  (
    cd "$ws"
    export SEL4_PREFIX=$BUILD/kernel/$plat$SUFFIX/install CARGO_TARGET_DIR=$ws/target/$plat$SUFFIX
    # The kernel configuration is read at build time by crates cargo does not know to rebuild.
    rm -rf "$CARGO_TARGET_DIR"
    # The loader assembles a few .S files with cc-rs: use the cross compiler.
    export CC_aarch64_unknown_none=aarch64-linux-gnu-gcc
    "${cargo[@]}" build --release -p sel4-kernel-loader-add-payload >"$out.log" 2>&1 ||
      { tail -30 "$out.log"; exit 1; }
    "${cargo[@]}" build --release -p sel4-kernel-loader --target aarch64-unknown-none \
      -Z build-std=core,alloc,compiler_builtins -Z build-std-features=compiler-builtins-mem \
      >>"$out.log" 2>&1 || { tail -30 "$out.log"; exit 1; }
    cp "$CARGO_TARGET_DIR/release/sel4-kernel-loader-add-payload" "$out/"
    cp "$CARGO_TARGET_DIR/aarch64-unknown-none/release/sel4-kernel-loader" "$out/"
  )
  echo "$key" >"$out/config.key"
}

main() {
  install_packages
  host_rust
  [[ $MODE == host ]] && return 0
  mkdir -p "$BUILD/src"
  clone "$SEL4_URL" "$SEL4_TAG" "$BUILD/src/seL4" || return 3
  patch_sel4
  clone "$RUST_SEL4_URL" "$RUST_SEL4_TAG" "$BUILD/src/rust-sel4" || return 3
  sel4_rust
  python_env
  local p
  for p in $PLATFORMS; do kernel "$p"; done
  for p in $PLATFORMS; do
    grep -q 'KernelSel4Arch aarch64' "$ROOT/cmake/$p.cmake" && loader "$p"
  done
  log "set-up complete ($BUILD)"
}

main "$@"
