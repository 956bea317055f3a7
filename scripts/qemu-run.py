#!/usr/bin/env python3
"""Boots a Romain image in QEMU (TCG), echoes its console and stops QEMU when the master is done.

The master prints its end record (romain_records::END, read from its one definition by
scripts/records.py) after its last run, and romain_records::MASTER_FELL if it falls (a panic it
could not contain). Only a whole line equal to one counts: the master escapes a program's line
that would be one (">ROMAIN-END"), and text before it on a line is no record.
Exit code: 0 when the end record came, 1 on a time-out (QEMU is stopped either way), 2 when QEMU
itself failed, 3 when the master fell.

usage: qemu-run.py --arch aarch64 --image IMAGE [--timeout S] [--log FILE]
       qemu-run.py --arch x86_64 --kernel KERNEL32 --initrd MASTER [--timeout S] [--log FILE]
"""
import argparse
import os
import selectors
import signal
import subprocess
import sys
import time

import records

END = records.END.encode()
FELL = records.MASTER_FELL.encode()
MEMORY = "2048"  # must match QEMU_MEMORY in cmake/qemu-arm-virt.cmake
X86_CPU = ("Nehalem,-vme,+pdpe1gb,-xsave,-xsaveopt,-xsavec,-fsgsbase,-invpcid,"
           "+syscall,+lm,enforce")


def command(args):
    common = ["-nographic", "-serial", "mon:stdio", "-smp", str(args.smp), "-m", MEMORY,
              "-accel", f"tcg,thread={args.tcg_threads}"]
    if args.arch == "aarch64":
        return ["qemu-system-aarch64", "-machine", "virt,virtualization=on",
                "-cpu", "cortex-a57", *common, "-kernel", args.image]
    return ["qemu-system-x86_64", "-machine", "pc", "-cpu", X86_CPU, *common,
            "-kernel", args.kernel, "-initrd", args.initrd]


def end_in(pending, chunk):
    """The last record (END or FELL) that `chunk` completes a line equal to, if any (trailing
    white space aside, as romain_records::parse reads them), and the unfinished line after it.
    `pending`: the unfinished line before `chunk`; None when it is too long to be a record. Lines
    end in \n only: a \r within a line does not start one."""
    *lines, rest = chunk.split(b"\n")
    for line in lines:
        if pending is not None and (pending + line).rstrip() in (END, FELL):
            return (pending + line).rstrip(), b""
        pending = b""
    if pending is None or len(pending) + len(rest) > 4096:
        return None, None
    return None, pending + rest


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--arch", choices=["aarch64", "x86_64"], required=True)
    p.add_argument("--image")
    p.add_argument("--kernel")
    p.add_argument("--initrd")
    p.add_argument("--smp", type=int, default=4)
    # single: one host thread runs every vCPU in turn. With more vCPUs than host cores,
    # multi-threaded TCG lets the host deschedule the vCPU that holds seL4's kernel lock while the
    # others spin for it; under single, a spinning vCPU's `pause` (x86) or `yield` (ARM, with
    # patches/seL4-arm-pause-yield.patch) ends its turn at once.
    p.add_argument("--tcg-threads", choices=["single", "multi"], default="single")
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--log")
    args = p.parse_args()

    cmd = command(args)
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    # Never leave QEMU behind: stop it when we are stopped.
    def stop(signum, _frame):
        proc.kill()
        sys.exit(128 + signum)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log = open(args.log, "wb") if args.log else None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + args.timeout
    # The console's unfinished line (lines end in \n only: a \r inside a line does not start
    # one); None once it is too long to be a record.
    pending = b""
    done = None
    out = sys.stdout.buffer
    while not done and time.monotonic() < deadline:
        if not sel.select(timeout=1.0):
            if proc.poll() is not None:
                break
            continue
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            break
        # Serial consoles end lines with \r\n; keep plain \n for readers of the log.
        chunk = chunk.replace(b"\r\n", b"\n")
        out.write(chunk)
        out.flush()
        if log:
            log.write(chunk)
        done, pending = end_in(pending, chunk)
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    if log:
        log.close()
    if done == FELL:
        print(f"\nqemu-run: the master fell ({FELL.decode()}): stopped QEMU", file=sys.stderr)
        return 3
    if done:
        return 0
    if time.monotonic() >= deadline:
        print(f"\nqemu-run: no {END.decode()} within {args.timeout:.0f} s: stopped QEMU",
              file=sys.stderr)
        return 1
    print(f"\nqemu-run: QEMU exited ({proc.returncode}) before {END.decode()}: {' '.join(cmd)}",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
