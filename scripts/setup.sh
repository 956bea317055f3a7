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
  gcc-aarch64-linux-gnu device-tree-compiler libxml2-utils cpio clang libclang-dev
  qemu-system-arm qemu-system-x86 curl ca-certificates)
# The offline Rust route (see rust_toolchain below) needs these too; harmless online.
APT_RUST_PKGS=(rustc-web rust-web-src lld-22)

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
      pins=("qemu-utils=$qv" "qemu-system-x86=$qv" "qemu-system-arm=$qv")
      missing=$(printf '%s\n' $missing | grep -vx -e qemu-system-x86 -e qemu-system-arm | tr '\n' ' ' || true)
    fi
    # shellcheck disable=SC2086
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --allow-downgrades $missing "${pins[@]}" >/dev/null
  fi
}

# --- Rust ----------------------------------------------------------------------------------------
# Host tests need any stable cargo. The seL4 targets need -Z build-std: the pinned nightly with
# rust-src when rustup can download it, otherwise Debian's rustc-web + rust-web-src driven by
# rustup's stable cargo with RUSTC_BOOTSTRAP=1. The choice is written to $BUILD/toolchain.env,
# which the Makefile reads.
host_rust() {
  if ! command -v cargo >/dev/null; then
    log "no cargo: installing rustup's stable toolchain"
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain stable
  fi
}

sel4_rust() {
  local env=$BUILD/toolchain.env
  [[ -s $env ]] && return 0
  if command -v rustup >/dev/null && timeout 300 rustup toolchain install "$NIGHTLY" \
    --profile minimal --component rust-src >/dev/null 2>&1; then
    log "seL4 toolchain: $NIGHTLY (rustup)"
    cat >"$env" <<EOF
SEL4_CARGO="cargo +$NIGHTLY"
SEL4_ZFLAGS="-Zjson-target-spec"
SEL4_RUSTC=""
EOF
    return 0
  fi
  log "rustup cannot fetch $NIGHTLY: using Debian's rustc-web with rust-web-src (offline route)"
  local missing
  missing=$(apt_missing "${APT_RUST_PKGS[@]}")
  if [[ -n "$missing" ]]; then
    # shellcheck disable=SC2086
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  fi
  mkdir -p "$BUILD/bin"
  ln -sf "$(command -v ld.lld-22 || echo /usr/lib/llvm-22/bin/ld.lld)" "$BUILD/bin/rust-lld"
  # Debian's cargo cannot fetch git dependencies (libgit2 mismatch): use rustup's stable cargo.
  local cargo_bin
  cargo_bin=$(rustup which cargo --toolchain stable 2>/dev/null || command -v cargo)
  cat >"$env" <<EOF
SEL4_CARGO="$cargo_bin"
SEL4_RUSTC=/usr/bin/rustc
SEL4_RUSTFLAGS="-Zunstable-options"
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
config_key() { cat "$ROOT/cmake/common.cmake" "$ROOT/cmake/$1.cmake" "${FLAVOUR_CMAKE[@]}" | sha256sum | cut -c1-16; }

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
# dependencies on other rust-sel4 crates are git dependencies on the same tag: building inside the
# rust-sel4 workspace would resolve all of its members (and their forks) for nothing.
loader_workspace() {
  local ws=$BUILD/loader-ws
  [[ -f $ws/Cargo.toml ]] && return 0
  rm -rf "$ws" && mkdir -p "$ws"
  cp -r "$BUILD/src/rust-sel4/crates/sel4-kernel-loader" "$ws/loader"
  rm -rf "$ws/loader/payload-types"
  local toml
  for toml in "$ws/loader/Cargo.toml" "$ws/loader/add-payload/Cargo.toml"; do
    sed -E -i "s|path = \"[^\"]*\"|git = \"$RUST_SEL4_URL\", tag = \"$RUST_SEL4_TAG\"|" "$toml"
  done
  printf '[workspace]\nresolver = "3"\nmembers = ["loader", "loader/add-payload"]\n' >"$ws/Cargo.toml"
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
