# Kernel settings shared by every platform of Romain for seL4.
# Loaded with `cmake -C cmake/common.cmake -C cmake/<platform>.cmake [-C cmake/debug.cmake]`.

# A production kernel: no debug, printing or benchmark system calls. A replica is untrusted, and
# with those calls it could halt the machine (seL4_DebugHalt, seL4_DebugSnapshot), print past the
# master (seL4_DebugPutChar) or reset the CPU accounting. The master drives the console itself.
# `KERNEL=debug` adds cmake/debug.cmake for kernel debugging and per-thread CPU accounting.
set(KernelDebugBuild OFF CACHE BOOL "")
set(KernelPrinting OFF CACHE BOOL "")
set(KernelBenchmarks none CACHE STRING "")
set(KernelVerificationBuild OFF CACHE BOOL "")
# The master pins replicas with seL4_TCB_SetAffinity, which exists only on non-MCS SMP kernels
# (see docs/containment.md, "Why not MCS").
set(KernelIsMCS OFF CACHE BOOL "")
set(KernelMaxNumNodes 4 CACHE STRING "")
# Room in the root CNode for every replica's frames, tables and TCBs.
set(KernelRootCNodeSizeBits 18 CACHE STRING "")
set(KernelOptimisation -O2 CACHE STRING "")
