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
	timeout 3600 make run ARCH="$arch" FP="$fp" PLAN="$plan" > "$out/$fp.log" 2>&1
done
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
def runs(fp):
    rows = {}
    for line in open(f"{out}/{fp}.log", errors="replace"):
        if "ROMAIN-SUMMARY " in line:
            s = json.loads(line.split("ROMAIN-SUMMARY ", 1)[1])
            assert s["status"] == "ok", s
            rows[s["app"].split("+")[0]] = s
    return rows
on, off = runs("auto"), runs("off")
print("| program | events | ticks/event FP=off | ticks/event FP=auto | × | FP bytes compared | memory faults off / auto |")
print("|---|---|---|---|---|---|---|")
for app, s in on.items():
    o = off[app]
    a = s["master_cycles"] / s["events"]
    b = o["master_cycles"] / o["events"]
    print(f"| {app} | {s['events']} | {b:,.0f} | {a:,.0f} | {a / b:.2f} | {s['fp_bytes']:,} | {o['memory_faults']} / {s['memory_faults']} |")
hz = next(iter(on.values()))["counter_hz"]
print(f"\n(counter at {hz:,} Hz; TMR, REPAIR=all, production kernel, QEMU TCG on this host)")
PY
