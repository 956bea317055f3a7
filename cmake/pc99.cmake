# x86_64 PC (QEMU pc99), 4 cores (run with -smp 4).
set(KernelPlatform pc99 CACHE STRING "")
set(KernelSel4Arch x86_64 CACHE STRING "")
# Options that boot under QEMU's TCG (no FSGSBASE/PCID/XSAVE/IOMMU emulated there).
set(KernelFSGSBase msr CACHE STRING "")
set(KernelSupportPCID OFF CACHE BOOL "")
set(KernelIOMMU OFF CACHE BOOL "")
set(KernelFPU FXSAVE CACHE STRING "")
