# Romain for seL4: build, run and test.
#
#   make run  [ARCH=aarch64|x86_64] [MODE=none|dmr|tmr|N] [APP=hello] [INJECT=spec]
#             [ARGS='a b'] [PLAN=mode:app[+arg...][@spec],...]
#   make test                      host tests + QEMU system tests on both architectures
#   make bench [ARCH=...]          replication overhead of the MiBench programs (table, JSON, CSV, SVG)
#   make campaign [ARCH=...]       a fault-injection campaign (report, plot; see CAMPAIGN_ARGS)
#   make cae-bench [ARCH=...]      cost of a shared-memory access through copy & execute
#   make image BOARD=rpi4          an image for a real board (aarch64), not booted here
#   make setup                     just the set-up (also done by run and test)
#   make corpus                    the corpus of real static Linux programs for the system tests
#   make corpus-calls              the system calls the corpus makes on Linux, and which are ENOSYS here
#   make docker-build docker-run   the same inside the project's container (docker-run: APP=sha)
#   make fresh-test                the two commands of the README in a clean Debian 12 container
#
# Everything built goes under $(BUILD) (default ./build).

ARCH ?= aarch64
MODE ?= tmr
APP ?= hello
ARGS ?=
INJECT ?=
empty :=
space := $(empty) $(empty)
PLAN ?= $(MODE):$(APP)$(if $(ARGS),+$(subst $(space),+,$(strip $(ARGS))))$(if $(INJECT),@$(INJECT))
BOARD ?= qemu
# Bound on how long replicas may take to reach an event after the first of them did (0: off).
WATCHDOG_MS ?= 0
# Bound on the time between two events of a group (0: off): a program looping in every replica.
SILENCE_MS ?= 0
# A run's default budget (0: unbounded): the group ends `over-budget` after that many events or
# that much guest time, so a program that never ends cannot stall the plan. A run sets its own
# with MODE/events=N/ms=N:APP (see docs/architecture.md, "A bound on every run").
BUDGET_EVENTS ?= 2000000
BUDGET_MS ?= 300000
# The master's random numbers (AT_RANDOM, getrandom) from this seed, the same in every boot
# (empty: from the cycle counter at each group's start): a Go program then schedules its
# goroutines alike in every run.
SEED ?=
# A fault-injection campaign instead of plain runs: SEED:FIRST:COUNT:MODELS (see docs/campaigns.md,
# "The campaign mode"); `make campaign` drives many of them.
CAMPAIGN ?=
# Test only: CAE_LAX=1 drops copy & execute's range check and the decoders' write sets, to show
# that the executor sandbox contains an access the decoder wrongly accepted (see docs/copy-and-execute.md).
CAE_LAX ?=
# Test only: the personality component panics (TEST_PANIC_ON), allocates until its memory quota
# is gone (TEST_HOG_ON), never answers (TEST_SPIN_ON), or faults (TEST_FAULT_ON), at the Linux
# call of that name, to show that only its group ends (see docs/containment.md);
# TEST_PANIC_ON=master makes the master itself panic after the first run, outside any group.
# Empty (the default): never.
TEST_PANIC_ON ?=
TEST_HOG_ON ?=
TEST_SPIN_ON ?=
TEST_FAULT_ON ?=
# Memory each replica may have (image, stack, heap), in MiB.
QUOTA_MB ?= 64
# How the master keeps track of replica memory for repair (TMR) and rollback (DMR):
#   all      repair compares every page; DMR copies every writable page at each agreed event;
#   written  pages are write-protected after each agreed event: repair copies the pages written
#            since, DMR saves a page on its first write (incremental copy-on-write checkpoints).
# `written` copies far less, but every protection change is a TLB flush on every core, which
# QEMU's TCG makes cost milliseconds; `all` is the default here (see docs/architecture.md, "Memory").
REPAIR ?= all
# FP/SIMD capture at every event (compared, repaired, rolled back): `auto` for Linux programs,
# `on` for every program (native ones are soft-float unless FLOAT=hard), `off` for none (DMR on a Linux program
# is then fail-stop). Its cost: the master's ticks per event with FP=auto vs FP=off.
FP ?= auto
# Native replica programs (replica-app/): `soft`-float (nothing lives in FP/SIMD registers, so
# FP=auto captures nothing for them) or `hard` (rust-sel4's hard-float targets: NEON / SSE2;
# FP=auto captures their FP/SIMD state like a Linux program's).
FLOAT ?= soft
ifeq ($(filter soft hard,$(FLOAT)),)
$(error FLOAT is soft or hard, not $(FLOAT))
endif
TIMEOUT ?= 600
SMP ?= 4
# QEMU's TCG: single (one host thread runs the vCPUs in turn) or multi (a host thread each).
# Under multi, with more vCPUs than host cores, the host deschedules the vCPU holding seL4's
# kernel lock while the others spin for it. Under single a spinning vCPU hands over at once: x86's
# `pause` and, with patches/seL4-arm-pause-yield.patch, ARM's `yield` end its turn.
TCG ?= single

BUILD ?= $(CURDIR)/build
export ROMAIN_BUILD := $(BUILD)
# The kernel: production (no debug, printing or benchmark system calls: the default) or debug
# (cmake/debug.cmake: kernel printing, and per-thread CPU time in the summary).
KERNEL ?= production
ifeq ($(KERNEL),production)
  KSUFFIX :=
else ifeq ($(KERNEL),debug)
  KSUFFIX := -debug
else
  $(error KERNEL must be production or debug, not $(KERNEL))
endif
export ROMAIN_KERNEL := $(KERNEL)

ifeq ($(ARCH),aarch64)
  PLATFORM := $(if $(filter rpi4,$(BOARD)),rpi4,qemu-arm-virt)
else ifeq ($(ARCH),x86_64)
  PLATFORM := pc99
else
  $(error ARCH must be aarch64 or x86_64, not $(ARCH))
endif

comma := ,
SEL4_PREFIX := $(BUILD)/kernel/$(PLATFORM)$(KSUFFIX)/install
LOADER := $(BUILD)/loader/$(PLATFORM)$(KSUFFIX)
OUT := $(BUILD)/out/$(PLATFORM)$(KSUFFIX)
TARGETS := $(BUILD)/targets
SEL4_CARGO := $(CURDIR)/scripts/sel4-cargo
BUILD_STD := -Z build-std=core,alloc,compiler_builtins -Z build-std-features=compiler-builtins-mem
PLAN_APPS := $(sort $(foreach run,$(subst $(comma), ,$(PLAN)),$(firstword $(subst +, ,$(lastword $(subst :, ,$(firstword $(subst @, ,$(run)))))))))
REPLICA_TARGET := $(ARCH)-sel4-replica$(if $(filter hard,$(FLOAT)),-hf)
REPLICA_DIR := $(BUILD)/target/$(PLATFORM)$(KSUFFIX)/replica/$(REPLICA_TARGET)/release
MASTER_DIR := $(BUILD)/target/$(PLATFORM)$(KSUFFIX)/master/$(ARCH)-sel4-roottask-unwind/release
# Programs in the plan that are not built from replica-app/ are taken as ELF files: APP_<name>=path.
# A plan may name a program that does not exist: the master reports it (status unknown-app).
# The C programs of linux-apps/ are built static for Linux with Debian's compilers and run
# unmodified (the Linux personality).
LINUX_APPS_DIR := $(BUILD)/linux-apps/$(ARCH)
LINUX_CC := $(if $(filter aarch64,$(ARCH)),aarch64-linux-gnu-gcc,gcc)
# cfiles also as a static-pie (ET_DYN that relocates itself), the other form -static can take,
# and on x86_64 with musl (Debian's musl-tools).
MUSL_CC := $(if $(filter x86_64,$(ARCH)),$(shell command -v musl-gcc))
LINUX_APPS := $(patsubst linux-apps/%.c,%,$(wildcard linux-apps/*.c)) cfiles-pie $(if $(MUSL_CC),cfiles-musl)
# Programs the master runs as Linux programs although their ELF has no Linux mark (musl's
# static programs have neither the GNU OS/ABI nor a note): LINUX='name ...'.
LINUX ?=
LINUX_ALL := $(strip $(LINUX) $(if $(MUSL_CC),cfiles-musl))
app_elf = $(or $(APP_$(1)),$(if $(filter $(1),$(LINUX_APPS)),$(LINUX_APPS_DIR)/$(1)),$(REPLICA_DIR)/$(1).elf)
# A program's companion component `<app>-device` (see docs/copy-and-execute.md) comes along.
embedded_apps = $(foreach a,$(PLAN_APPS) $(addsuffix -device,$(PLAN_APPS)),$(if $(wildcard $(call app_elf,$(a))),$(a)=$(call app_elf,$(a))))

# Files for Linux programs, embedded under the names they open: FILES='name=path name2 ...' (a
# bare name is also its path); STDIN=name makes stdin read one of them; DUMP=name prints a file
# the program wrote, as hex between markers, at its exit.
FILES ?=
STDIN ?=
DUMP ?=
embedded_files = $(foreach f,$(FILES),$(firstword $(subst =, ,$(f)))=$(abspath $(lastword $(subst =, ,$(f)))))

# The original MiBench C programs (tools/mibench-c): a plan names a runme line as
# c-<run> (small set; ARGS=large or c-<run>-large for the large one), for example
# `make run APP=c-sha`, `PLAN=tmr:c-adpcm,dmr:c-susan-edges`. The sources are fetched from
# upstream at a pinned commit and built static for both architectures (`make mibench-c`); the
# runs get their runme arguments, directory and input files (`romain-mibench-c list`).
MIBENCH_C := cargo run -q --release -p romain-mibench-c -- --build $(BUILD)
C_RUNS := $(filter c-%,$(PLAN_APPS))
C_PLAN := $(BUILD)/mibench-c/image-$(ARCH)

SEL4_ENV := SEL4_PREFIX=$(SEL4_PREFIX) CC_aarch64_unknown_none=aarch64-linux-gnu-gcc

.PHONY: all setup setup-host corpus corpus-calls splash3 run image replicas linux-apps mibench-c master test host-test lint bench campaign cae-bench clean docker-build docker-run fresh-test threads-determinism splash3-matrix

all: image

setup:
	scripts/setup.sh full

setup-host:
	scripts/setup.sh host

# Debian's static busybox, shells and e2fsck for both architectures (fetched with a private apt
# configuration: nothing is installed), our C++ and Rust std programs and their inputs, under
# $(BUILD)/corpus; `make test` does it too (scripts/test.sh). See scripts/corpus.sh.
corpus: setup-host
	scripts/corpus.sh $(BUILD)

# Runs every corpus case on Linux under strace (qemu-aarch64 -strace for aarch64) and lists the
# calls made, marking those the personality's table lacks (scripts/corpus-calls.sh).
corpus-calls: corpus
	scripts/corpus-calls.sh $(BUILD)

# The Splash-3 suite (github.com/SakalisC/Splash-3 at a pinned commit), every program that builds
# static for both architectures, with its small inputs, under $(BUILD)/splash3 (scripts/splash3.sh;
# linux-apps/splash3/runs says how each runs).
splash3: setup-host
	scripts/splash3.sh $(BUILD)

$(TARGETS)/.stamp: scripts/targets.py | setup
	python3 scripts/targets.py $(BUILD)/src/rust-sel4/support/targets $(TARGETS)
	touch $@

# INPUT=file embeds a real input file into MiBench program $(APP) (otherwise it generates one).
INPUT_ENV := $(if $(INPUT),MIBENCH_INPUT_$(shell echo '$(APP)' | tr a-z A-Z)=$(abspath $(INPUT)))

replicas: $(TARGETS)/.stamp
	cd replica-app && $(SEL4_ENV) $(INPUT_ENV) CARGO_TARGET_DIR=$(BUILD)/target/$(PLATFORM)$(KSUFFIX)/replica \
	  ROMAIN_TEST_PANIC_ON='$(TEST_PANIC_ON)' ROMAIN_TEST_HOG_ON='$(TEST_HOG_ON)' ROMAIN_TEST_SPIN_ON='$(TEST_SPIN_ON)' \
	  ROMAIN_TEST_FAULT_ON='$(TEST_FAULT_ON)' \
	  $(SEL4_CARGO) build --release --workspace --target $(TARGETS)/$(REPLICA_TARGET).json $(BUILD_STD)

$(LINUX_APPS_DIR)/%: linux-apps/%.c
	@mkdir -p $(@D)
	$(LINUX_CC) -static -O2 -o $@ $< -lm

$(LINUX_APPS_DIR)/%-pie: linux-apps/%.c
	@mkdir -p $(@D)
	$(LINUX_CC) -static-pie -O2 -o $@ $< -lm

$(LINUX_APPS_DIR)/%-musl: linux-apps/%.c
	@mkdir -p $(@D)
	$(MUSL_CC) -static -O2 -o $@ $< -lm

linux-apps: $(addprefix $(LINUX_APPS_DIR)/,$(LINUX_APPS))

mibench-c:
	$(MIBENCH_C) build

master: replicas linux-apps $(if $(C_RUNS),mibench-c)
ifneq ($(C_RUNS),)
	@mkdir -p $(C_PLAN)
	$(MIBENCH_C) plan '$(PLAN)' > $(C_PLAN)/plan
	$(MIBENCH_C) apps --arch $(ARCH) '$(PLAN)' > $(C_PLAN)/apps
	$(MIBENCH_C) files '$(PLAN)' > $(C_PLAN)/files
endif
	cd root-task && $(SEL4_ENV) CARGO_TARGET_DIR=$(BUILD)/target/$(PLATFORM)$(KSUFFIX)/master \
	  ROMAIN_TEST_PANIC_ON='$(TEST_PANIC_ON)' ROMAIN_PERSONALITY=$(REPLICA_DIR)/linux-personality.elf \
	  ROMAIN_PLAN=$(if $(C_RUNS),"$$(cat $(C_PLAN)/plan)",'$(PLAN)') ROMAIN_WATCHDOG_MS='$(WATCHDOG_MS)' ROMAIN_SILENCE_MS='$(SILENCE_MS)' \
	  ROMAIN_BUDGET_EVENTS='$(BUDGET_EVENTS)' ROMAIN_BUDGET_MS='$(BUDGET_MS)' ROMAIN_SEED='$(SEED)' \
	  ROMAIN_QUOTA_MB='$(QUOTA_MB)' ROMAIN_REPAIR='$(REPAIR)' ROMAIN_FP='$(FP)' ROMAIN_FLOAT='$(FLOAT)' ROMAIN_CAMPAIGN='$(CAMPAIGN)' \
	  ROMAIN_CAE_LAX='$(CAE_LAX)' \
	  ROMAIN_FILES='$(subst $() ,$(comma),$(strip $(embedded_files)))'$(if $(C_RUNS),"$(comma)$$(cat $(C_PLAN)/files)") \
	  ROMAIN_STDIN='$(STDIN)' ROMAIN_DUMP='$(DUMP)' ROMAIN_LINUX='$(subst $() ,$(comma),$(LINUX_ALL))' \
	  ROMAIN_APPS='$(subst $() ,$(comma),$(strip $(embedded_apps)))'$(if $(C_RUNS),"$(comma)$$(cat $(C_PLAN)/apps)") \
	  $(SEL4_CARGO) build --release --target $(TARGETS)/$(ARCH)-sel4-roottask-unwind.json $(BUILD_STD)

image: master
	@mkdir -p $(OUT)
ifeq ($(ARCH),aarch64)
	$(LOADER)/sel4-kernel-loader-add-payload \
	  --loader $(LOADER)/sel4-kernel-loader \
	  --sel4-prefix $(SEL4_PREFIX) --app $(MASTER_DIR)/romain-master.elf -o $(OUT)/image.elf
	@echo "image: $(OUT)/image.elf"
else
	objcopy -O elf32-i386 $(SEL4_PREFIX)/bin/kernel.elf $(OUT)/kernel32.elf
	cp $(MASTER_DIR)/romain-master.elf $(OUT)/romain-master.elf
	@echo "image: $(OUT)/kernel32.elf + $(OUT)/romain-master.elf (multiboot)"
endif

run: image
ifneq ($(BOARD),qemu)
	$(error BOARD=$(BOARD) images cannot be booted here: use 'make image BOARD=$(BOARD)')
endif
ifeq ($(ARCH),aarch64)
	scripts/qemu-run.py --arch aarch64 --image $(OUT)/image.elf --smp $(SMP) --tcg-threads $(TCG) --timeout $(TIMEOUT) --log $(OUT)/run.log
else
	scripts/qemu-run.py --arch x86_64 --kernel $(OUT)/kernel32.elf --initrd $(OUT)/romain-master.elf --smp $(SMP) --tcg-threads $(TCG) --timeout $(TIMEOUT) --log $(OUT)/run.log
endif

# The test command: host tests always; the QEMU system tests whenever the upstream seL4 sources
# can be reached (set-up exits 3 when they cannot, and the tests then say they were skipped).
test:
	@scripts/test.sh

host-test: setup-host
	cargo test --workspace

# Whether multithreaded programs schedule alike in every boot: BOOTS boots (5) with SMP=4 and 8
# of threaded programs under TMR, every run's output, events and schedule compared
# (scripts/threads-determinism.sh; longer than `make test` allows).
BOOTS ?= 5
threads-determinism: setup splash3
	scripts/threads-determinism.sh $(ARCH) $(BOOTS)

# Every Splash-3 program that builds under none, DMR and TMR at 1, 2 and 4 threads, compared
# with Linux, both architectures (the splash3 system test with ROMAIN_SPLASH3=all; `make test`
# runs four of them). Longer than `make test` allows.
splash3-matrix: setup splash3
	ROMAIN_SPLASH3=all ROMAIN_SYSTEM_TESTS=1 ROMAIN_BOOT_TIMEOUT=7200 cargo test -p romain-systest --test splash3 -- --nocapture --test-threads=1

# Replication overhead: each program unreplicated, DMR and TMR, REPS times, in one boot.
# BENCH_ARGS='--programs sha,fft --reps 5' narrows it; results go to build/bench/.
# Then the Splash-3 programs BENCH_SPLASH3 (`all`, or names) at 1, 2 and 4 threads, each
# against unreplicated at the same thread count, in a second boot (BENCH_SPLASH3= leaves it out).
REPS ?= 3
BENCH_SPLASH3 ?= fft,lu-contiguous,lu-noncontiguous,radix,cholesky,barnes,water-nsquared,water-spatial,ocean-contiguous
bench: setup $(if $(BENCH_SPLASH3),splash3)
	ROMAIN_BOOT_TIMEOUT=$(or $(BENCH_TIMEOUT),7200) cargo run -q --release -p romain-bench -- --arch $(ARCH) --reps $(REPS) --out $(BUILD)/bench $(BENCH_ARGS)
ifneq ($(BENCH_SPLASH3),)
	ROMAIN_BOOT_TIMEOUT=$(or $(BENCH_TIMEOUT),7200) cargo run -q --release -p romain-bench -- --arch $(ARCH) --reps $(REPS) --out $(BUILD)/bench --splash3 $(BENCH_SPLASH3)
endif

# A fault-injection campaign with the host tool (parallel QEMUs, resumable, shardable), e.g.
# make campaign ARCH=x86_64 CAMPAIGN_ARGS='--programs sha,qsort --modes tmr,dmr --count 1000'.
# Results, report and plot go to $(BUILD)/campaign/$(ARCH)/.
CAMPAIGN_OUT ?= $(BUILD)/campaign/$(ARCH)
campaign: setup
	cargo run -q --release -p romain-campaign -- run --arch $(ARCH) --out $(CAMPAIGN_OUT) $(CAMPAIGN_ARGS)

# Copy & execute microbenchmark: one shared load and store through copy & execute, against the
# companion's direct accesses to the same region (figures printed, guest ticks and ns).
cae-bench: setup
	@$(MAKE) -s --no-print-directory run ARCH=$(ARCH) PLAN='none:shm-demo+bench,tmr:shm-demo+bench' | grep -E '^(shm-bench|ROMAIN-SUMMARY|\[romain INFO\] run)'

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

clean:
	rm -rf $(BUILD)/out $(BUILD)/target target

# The container (docker/Dockerfile, built by docker/build.sh from a debootstrap'd Debian 12 base
# image, romain-base:bookworm, that docker/make-base.sh makes when Docker has none; see
# docs/boards.md, "Offline set-up, mirrors and fresh-test"). docker-run runs `make run APP=sha` in it by default;
# ARCH, MODE, APP and the other run variables given on the command line are passed on.
DOCKER_IMAGE ?= romain-sel4
DOCKER_BASE ?= romain-base:bookworm
DOCKER_VARS := ARCH MODE ARGS INJECT PLAN KERNEL WATCHDOG_MS SILENCE_MS SEED REPAIR FP FLOAT QUOTA_MB SMP TIMEOUT TCG
docker-build:
	docker/build.sh $(DOCKER_IMAGE) $(DOCKER_BASE)

docker-run: docker-build
	docker run --rm $$([ -t 0 ] && echo -it) $(DOCKER_IMAGE) make run \
	  APP=$(if $(filter command line,$(origin APP)),$(APP),sha) \
	  $(foreach v,$(DOCKER_VARS),$(if $(filter command line,$(origin $(v))),'$(v)=$($(v))'))

# `make run APP=sha` and then `make test` in a fresh Debian 12 container, from a clean git clone
# of this repository (HEAD; FRESH_WORKTREE=1 adds the uncommitted changes), with only this host's
# git URL rewrites and added CA certificates besides (docker/fresh-test.sh). Logs: $(BUILD)/fresh-test.
fresh-test:
	docker/fresh-test.sh $(DOCKER_BASE)
