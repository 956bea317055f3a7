# QEMU `virt` board, Cortex-A57, 4 cores (run with -smp 4).
set(KernelPlatform qemu-arm-virt CACHE STRING "")
set(KernelSel4Arch aarch64 CACHE STRING "")
set(ARM_CPU cortex-a57 CACHE STRING "")
set(QEMU_MEMORY 2048 CACHE STRING "")
# Lets replicas and the master read CNTVCT_EL0 (cycle counts in ROMAIN-SUMMARY).
set(KernelArmExportVCNTUser ON CACHE BOOL "")
set(KernelArmExportPCNTUser ON CACHE BOOL "")
# The master's watchdog timer: the EL1 physical timer of core 0, where only the master runs.
set(KernelArmExportPTMRUser ON CACHE BOOL "")
# The kernel runs at EL2 (QEMU -machine virt,virtualization=on), as in rust-sel4's default QEMU
# world: rust-sel4's loader, dropping to EL1 for a non-hypervisor kernel, faults at the kernel's
# entry under QEMU 7.2.
set(KernelArmHypervisorSupport ON CACHE BOOL "")
