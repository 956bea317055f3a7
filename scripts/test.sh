#!/usr/bin/env bash
# The test command (`make test`): host tests always; the QEMU system tests on aarch64 and x86_64
# whenever the upstream seL4 sources can be reached. Where they cannot, the host tests still run
# and this script says loudly that the system tests were skipped, and why.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

scripts/setup.sh full
rc=$?
case $rc in
  0)
    export ROMAIN_SYSTEM_TESTS=1
    ;;
  3)
    export ROMAIN_SYSTEM_TESTS=0
    export ROMAIN_SKIP_REASON="the upstream seL4/rust-sel4 sources could not be reached (see build/clone.err)"
    ;;
  *)
    echo "set-up failed (exit $rc)" >&2
    exit "$rc"
    ;;
esac

# The corpus of real static Linux programs the system tests run (scripts/corpus.sh). What cannot
# be fetched or built is reported on a `CORPUS:` line and the tests that need it skip, loudly.
scripts/corpus.sh "${ROMAIN_BUILD:-$ROOT/build}" || echo "CORPUS: scripts/corpus.sh failed (exit $?)" >&2
# The Splash-3 suite, the same way (scripts/splash3.sh: `SPLASH3:` lines).
scripts/splash3.sh "${ROMAIN_BUILD:-$ROOT/build}" || echo "SPLASH3: scripts/splash3.sh failed (exit $?)" >&2

cargo fmt --all --check || { echo "cargo fmt: formatting differs (run cargo fmt --all)" >&2; exit 1; }
cargo test --workspace
status=$?

if [[ $ROMAIN_SYSTEM_TESTS != 1 ]]; then
  cat >&2 <<BANNER

################################################################################
#  SYSTEM TESTS SKIPPED: $ROMAIN_SKIP_REASON.
#  Only the host tests ran. The QEMU system tests boot seL4 16.0.0 with the
#  master and need the upstream sources (github.com/seL4/seL4, seL4/rust-sel4).
################################################################################
BANNER
fi
exit $status
