#!/bin/sh
# The master's ticks per event with and without FP/SIMD capture, for the 13 original MiBench C
# programs under TMR (one boot per setting): `scripts/fp-cost.sh ARCH`. Prints a Markdown table.
# Run it alone on the machine: it measures time.
set -eu
arch=${1:-x86_64}
plan=$(printf 'tmr:c-%s,' basicmath bitcount qsort susan dijkstra patricia stringsearch blowfish rijndael sha crc32 fft adpcm)
plan=${plan%,}
out=build/fp-cost/$arch
mkdir -p "$out"
for fp in auto off; do
	[ -n "${FP_COST_REUSE:-}" ] && [ -s "$out/$fp.log" ] && continue
	timeout 3600 make run ARCH="$arch" FP="$fp" PLAN="$plan" > "$out/$fp.log" 2>&1
done
python3 - "$out" "$(dirname "$0")" <<'PY'
import sys
sys.path.insert(0, sys.argv[2])
import records
out = sys.argv[1]
on, off = records.ok_summaries(f"{out}/auto.log"), records.ok_summaries(f"{out}/off.log")
print("| program | events | ticks/event FP=off | ticks/event FP=auto | × | invocations/event off / auto | FP bytes compared |")
print("|---|---|---|---|---|---|---|")
for app, s in on.items():
    o = off[app]
    a = s["master_cycles"] / s["events"]
    b = o["master_cycles"] / o["events"]
    ia = s["invocations"]["total"] / s["events"]
    ib = o["invocations"]["total"] / o["events"]
    print(f"| {app} | {s['events']} | {b:,.0f} | {a:,.0f} | {a / b:.2f} | {ib:.1f} / {ia:.1f} | {s['fp_bytes']:,} |")
hz = next(iter(on.values()))["counter_hz"]
print(f"\n(counter at {hz:,} Hz; TMR, REPAIR=all, production kernel, QEMU TCG on this host)")
PY
