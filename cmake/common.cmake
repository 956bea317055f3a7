# Kernel settings shared by every platform of Romain for seL4.
# Loaded with `cmake -C cmake/common.cmake -C cmake/<platform>.cmake`.

# Debug kernel: seL4_DebugPutChar is the console of the master and replicas.
set(KernelDebugBuild ON CACHE BOOL "")
set(KernelPrinting ON CACHE BOOL "")
set(KernelVerificationBuild OFF CACHE BOOL "")
# The master pins replicas with seL4_TCB_SetAffinity, which exists only on non-MCS SMP kernels.
set(KernelIsMCS OFF CACHE BOOL "")
set(KernelMaxNumNodes 4 CACHE STRING "")
# Room in the root CNode for every replica's frames, tables and TCBs.
set(KernelRootCNodeSizeBits 18 CACHE STRING "")
set(KernelOptimisation -O2 CACHE STRING "")
# Per-thread CPU time (seL4_BenchmarkGetThreadUtilisation): the replicas' and the master's CPU
# time in each summary, which does not depend on how many host cores QEMU had.
set(KernelBenchmarks track_utilisation CACHE STRING "")
