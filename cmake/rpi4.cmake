# Raspberry Pi 4 Model B (BCM2711, 4x Cortex-A72). Builds here; boot on the board via the
# kernel loader image (see docs/boards.md, "Running on a board").
set(KernelPlatform bcm2711 CACHE STRING "")
set(KernelSel4Arch aarch64 CACHE STRING "")
set(RPI4_MEMORY 4096 CACHE STRING "")
set(KernelArmExportVCNTUser ON CACHE BOOL "")
set(KernelArmExportPCNTUser ON CACHE BOOL "")
# The master's watchdog timer (see qemu-arm-virt.cmake).
set(KernelArmExportPTMRUser ON CACHE BOOL "")
