# The debug flavour (`KERNEL=debug`): kernel debugging and printing, and per-thread CPU time
# (seL4_BenchmarkGetThreadUtilisation) for the summary's replica_cpu and master_cpu. Every
# replica can use these system calls too: never the default. Loaded after common.cmake, whose
# cache entries it overrides (FORCE).
set(KernelDebugBuild ON CACHE BOOL "" FORCE)
set(KernelPrinting ON CACHE BOOL "" FORCE)
set(KernelBenchmarks track_utilisation CACHE STRING "" FORCE)
