# SPDX-License-Identifier: GPL-2.0-only
#
# drm_gpusvm: the harness around the kernel files of this repository.
#
#   make demo      build the debug kernel, boot it and run the SVM demo: one
#                  malloc() buffer through GPU faults, VRAM, CPU faults, fork
#                  and a second GPU, printed as a table of the driver's counters
#                  DEMO_NO_BUILD=1: boot the debug kernel already built, as is
#   make test      build and run the KUnit suites (fast + debug configurations),
#                  then boot each kernel and run the vsvm selftests, and the
#                  kernel's hmm-tests on the debug kernel
#                  CONFIG=fast|debug, SUITE=<suite glob>[.<case glob>]
#                  SUITE=selftests: the selftests only (no KUnit)
#                  SUITE=hmm-tests: the kernel's HMM selftest only, against
#                  test_hmm and against the helpers (debug kernel)
#                  SELFTEST=<kselftest args>, e.g. "-t TEST" or "-r F.V.TEST"
#                  SELFTEST_BINS=<binary>[,<binary>...]: only these binaries
#                  STRESS_SECONDS=<seconds>: the stress selftest's short form
#                  (default 60 in debug, 10 in fast)
#   make check     checkpatch, kernel-doc and W=1 sparse builds of our files
#   make docs      the HTML of Documentation/gpu with the kernel's Sphinx build;
#                  the GPU SVM page lands in out/docs/gpu/rfc/gpusvm.html
#   make patches   write the series to out/patches/ and prove it applies
#   make bench     build the fast kernel with the gpusvm_bench suite (in its
#                  own build directory), run it and write out/bench/report.md,
#                  results.json and plots; BENCH_NO_BUILD=1: run it as built
#   make stress    build the debug kernel, boot it and run the vsvm stress
#                  test for DURATION seconds (default 300): processes and
#                  threads, GPU jobs, CPU writes, migrations, evictions,
#                  mprotect, mremap, munmap, fork on one and two devices;
#                  out/stress/summary.md; STRESS_NO_BUILD=1: boot it as built
#   make setup     install packages and unpack the kernel source only
#
# GPUSVM_CACHE (default ~/.cache/gpusvm) holds the source and build trees.

SHELL := /bin/bash

.PHONY: all demo test check docs patches bench stress setup clean

all: test

demo:
	@DEMO_NO_BUILD="$(DEMO_NO_BUILD)" harness/demo.sh

test:
	@CONFIG="$(CONFIG)" SUITE="$(SUITE)" SELFTEST="$(SELFTEST)" \
		SELFTEST_BINS="$(SELFTEST_BINS)" STRESS_SECONDS="$(STRESS_SECONDS)" \
		harness/test.sh

check:
	@harness/check.sh

docs:
	@harness/docs.sh

patches: setup
	@. harness/lib.sh && set_version_paths && harness/patches.py . "$$VDIR"

bench:
	@BENCH_NO_BUILD="$(BENCH_NO_BUILD)" harness/bench.sh

stress:
	@DURATION="$(DURATION)" STRESS_NO_BUILD="$(STRESS_NO_BUILD)" harness/stress.sh

setup:
	@harness/setup.sh

clean:
	rm -rf out
