#!/usr/bin/env python3
"""Writes the rustc target specs of the seL4 programs into OUT (the build directory).

The master uses rust-sel4's own `*-sel4-roottask-unwind` specs: a panic while a group runs unwinds
to the group's guard, which ends that group only (root-task/src/group/contain.rs). Replicas use `*-sel4-replica`: rust-sel4's
`*-sel4` spec made soft-float on aarch64 (x86_64 already is), so that a replica's whole user state
is the register file that seL4 lets the master read and compare (seL4 has no call to read another
thread's FP/SIMD registers). `*-sel4-replica-hf` (`make FLOAT=hard`) is the hard-float one:
rust-sel4's aarch64 spec as it is (NEON), x86_64 with SSE/SSE2 and the normal float ABI; the
master then captures the FP/SIMD state at every event, as for Linux programs.

usage: targets.py RUST_SEL4_TARGETS_DIR OUT
"""
import json
import pathlib
import sys

src, out = map(pathlib.Path, sys.argv[1:3])
out.mkdir(parents=True, exist_ok=True)
for arch in ("aarch64", "x86_64"):
    roottask = (src / f"{arch}-sel4-roottask-unwind.json").read_text()
    path = out / f"{arch}-sel4-roottask-unwind.json"
    if not path.exists() or path.read_text() != roottask:
        path.write_text(roottask)
    spec = json.loads((src / f"{arch}-sel4.json").read_text())
    if arch == "aarch64":
        spec["features"] = "+v8a,+strict-align,-neon"
        spec["abi"] = "softfloat"
        spec["rustc-abi"] = "softfloat"
    hard = json.loads((src / f"{arch}-sel4.json").read_text())
    if arch == "x86_64":
        # SSE2 is the x86_64 baseline; no AVX (the kernel enables no AVX state: FXSAVE only).
        hard["features"] = "+sse,+sse2,-avx,-avx2"
        hard.pop("rustc-abi", None)
    for name, s in ((f"{arch}-sel4-replica", spec), (f"{arch}-sel4-replica-hf", hard)):
        text = json.dumps(s, indent=2, sort_keys=True) + "\n"
        path = out / f"{name}.json"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
