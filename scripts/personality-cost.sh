#!/bin/sh
# What the Linux personality costs per event: the master's seL4 invocations and ticks per event
# of the 13 original MiBench C programs under TMR (one boot). Run it alone on the machine: it
# measures time.
#
#   scripts/personality-cost.sh ARCH LABEL [TREE]   boots `make run` of TREE (default: this one)
#                                                   with this build directory; log LABEL
#   scripts/personality-cost.sh ARCH table A B      a Markdown table comparing logs A and B
#
# docs/containment.md compares the personality in the master (the tree before it moved) with the
# personality in its component this way.
set -eu
arch=${1:-x86_64}
label=${2:-now}
out=build/personality-cost/$arch
mkdir -p "$out"
if [ "$label" != table ]; then
	tree=${3:-.}
	plan=$(printf 'tmr:c-%s,' basicmath bitcount qsort susan dijkstra patricia stringsearch blowfish rijndael sha crc32 fft adpcm)
	timeout 3600 make -C "$tree" --no-print-directory run ARCH="$arch" BUILD="$PWD/build" PLAN="${plan%,}" > "$out/$label.log" 2>&1
	echo "$out/$label.log"
	exit 0
fi
python3 - "$out" "$(dirname "$0")" "$3" "$4" <<'PY'
import sys
sys.path.insert(0, sys.argv[2])
import records
out, a_label, b_label = sys.argv[1], sys.argv[3], sys.argv[4]
a = records.ok_summaries(f"{out}/{a_label}.log")
b = records.ok_summaries(f"{out}/{b_label}.log")
def per(s, *keys):
    v = s["invocations"]
    return sum(v[k] for k in keys) / s["events"]
print(f"| program | events | invocations/event {a_label} → {b_label} | of them recv+reply | ticks/event {a_label} → {b_label} | × |")
print("|---|---|---|---|---|---|")
tot = [0, 0, 0, 0]
for app, s in a.items():
    t = b[app]
    ia, ib = s["invocations"]["total"] / s["events"], t["invocations"]["total"] / t["events"]
    ra, rb = per(s, "recv", "reply"), per(t, "recv", "reply")
    ca, cb = s["master_cycles"] / s["events"], t["master_cycles"] / t["events"]
    for i, v in enumerate([s["events"] * ia, t["events"] * ib, s["master_cycles"], t["master_cycles"]]):
        tot[i] += v
    print(f"| {app} | {s['events']} / {t['events']} | {ia:.1f} → {ib:.1f} | {ra:.1f} → {rb:.1f} | {ca:,.0f} → {cb:,.0f} | {cb / ca:.2f} |")
events_a = sum(s["events"] for s in a.values())
events_b = sum(s["events"] for s in b.values())
print(f"| all | {events_a} / {events_b} | {tot[0] / events_a:.1f} → {tot[1] / events_b:.1f} | | {tot[2] / events_a:,.0f} → {tot[3] / events_b:,.0f} | {(tot[3] / events_b) / (tot[2] / events_a):.2f} |")
hz = next(iter(a.values()))["counter_hz"]
print(f"\n(ticks of the master's counter at {hz / 1e6:,.0f} MHz)")
PY
