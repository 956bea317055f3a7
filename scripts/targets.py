#!/usr/bin/env python3
"""Writes the rustc target specs of the seL4 programs into OUT (the build directory).

The master uses rust-sel4's own `*-sel4-roottask` specs. Replicas use `*-sel4-replica`: rust-sel4's
`*-sel4` spec made soft-float on aarch64 (x86_64 already is), so that a replica's whole user state
is the register file that seL4 lets the master read and compare (seL4 has no call to read another
thread's FP/SIMD registers).

usage: targets.py RUST_SEL4_TARGETS_DIR OUT
"""
import json
import pathlib
import sys

src, out = map(pathlib.Path, sys.argv[1:3])
out.mkdir(parents=True, exist_ok=True)
for arch in ("aarch64", "x86_64"):
    roottask = (src / f"{arch}-sel4-roottask.json").read_text()
    (out / f"{arch}-sel4-roottask.json").write_text(roottask)
    spec = json.loads((src / f"{arch}-sel4.json").read_text())
    if arch == "aarch64":
        spec["features"] = "+v8a,+strict-align,-neon"
        spec["abi"] = "softfloat"
        spec["rustc-abi"] = "softfloat"
    text = json.dumps(spec, indent=2, sort_keys=True) + "\n"
    path = out / f"{arch}-sel4-replica.json"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
