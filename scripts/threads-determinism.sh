#!/bin/sh
# Whether multithreaded programs schedule alike in every boot: the same plan booted BOOTS times
# (default 5) with SMP=4 and again with SMP=8; every run must give the same output, events,
# thread switches, schedule digest and events per thread in every boot. Longer than `make test`
# allows (about 2 minutes per boot on x86_64, 5 on aarch64, here): `make threads-determinism`.
#
#   scripts/threads-determinism.sh ARCH [BOOTS]
#
# The plan: linux-apps/cthreads.c at 4 and 2 workers under TMR, the Splash-3 programs fft, lu
# and radix at 4 threads (scripts/splash3.sh) and the Go program of the corpus
# (scripts/corpus.sh), under TMR, where they are built; the master's random numbers from SEED=1.
set -eu
arch=${1:-x86_64}
boots=${2:-5}
out=build/threads-determinism/$arch
mkdir -p "$out"
plan="tmr:cthreads+4,tmr:cthreads+2"
extra=""
linux=""
for p in fft:+-m16+-p4+-t lu-contiguous:+-n128+-p4+-t radix:+-n65536+-p4+-t; do
	name=splash3-${p%%:*}
	bin=build/splash3/$arch/$name
	if [ -x "$bin" ]; then
		plan="$plan,tmr:$name${p#*:}"
		extra="$extra APP_$name=$PWD/$bin"
		linux="$linux $name"
	else
		echo "threads-determinism: $name not built (scripts/splash3.sh): left out" >&2
	fi
done
# Go's scheduler draws from AT_RANDOM: with the master's random numbers from a seed (SEED) its
# goroutines run alike in every boot too.
go=build/corpus/$arch/gothreads
if [ -x "$go" ]; then
	plan="$plan,tmr:gothreads"
	extra="$extra APP_gothreads=$PWD/$go"
	linux="$linux gothreads"
else
	echo "threads-determinism: gothreads not built (scripts/corpus.sh): left out" >&2
fi
for smp in 4 8; do
	i=1
	while [ "$i" -le "$boots" ]; do
		log=$out/smp$smp-boot$i.log
		echo "threads-determinism: $arch SMP=$smp boot $i of $boots" >&2
		# shellcheck disable=SC2086 # the APP_ variables, one word each
		timeout 3600 make --no-print-directory run ARCH="$arch" SMP="$smp" PLAN="$plan" LINUX="$linux" SEED=1 QUOTA_MB=256 $extra > "$log" 2>&1
		i=$((i + 1))
	done
done
python3 - "$out" "$(dirname "$0")" <<'PY'
import glob, json, sys
sys.path.insert(0, sys.argv[2])
import records
out = sys.argv[1]
logs = sorted(glob.glob(f"{out}/smp*-boot*.log"))
seen = {}
for log in logs:
    runs, output = [], []
    with open(log, errors="replace", newline="\n") as f:
        for line in f:
            # The serial console puts carriage returns where it likes: not the program's.
            line = line.replace("\r", "")
            if line.startswith("[romain") and " run " in line:
                output = []
            elif line.startswith(records.SUMMARY):
                s = json.loads(line[len(records.SUMMARY):])
                runs.append((s["app"], s["status"], hash("".join(output)), s["events"],
                             s.get("switches"), s.get("schedule"), tuple(s.get("thread_events", []))))
            elif not line.startswith("[romain") and not line.startswith("ROMAIN-"):
                output.append(line)
    seen[log] = runs
first = next(iter(seen.values()))
print(f"{len(logs)} boots, {len(first)} runs each")
for i, r in enumerate(first):
    print(f"  {r[0]:<28} {r[1]:<4} events {r[3]:>6} switches {r[4]} schedule {r[5]} thread events {list(r[6])}")
bad = [log for log, runs in seen.items() if runs != first]
for log in bad:
    print(f"DIFFERS: {log}: {seen[log]}")
if bad or any(r[1] != "ok" for r in first):
    sys.exit(1)
print("every boot scheduled every run alike")
PY
