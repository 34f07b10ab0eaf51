# SPDX-License-Identifier: GPL-2.0-only
#
# drm_gpusvm: the harness around the kernel files of this repository.
#
#   make test      build and run the KUnit suites (fast + debug configurations)
#                  CONFIG=fast|debug, SUITE=<suite glob>[.<case glob>]
#   make check     checkpatch, kernel-doc and W=1 sparse builds of our files
#   make patches   write the series to out/patches/ and prove it applies
#   make setup     install packages and unpack the kernel source only
#
# GPUSVM_CACHE (default ~/.cache/gpusvm) holds the source and build trees.

SHELL := /bin/bash

.PHONY: all test check patches setup clean

all: test

test:
	@CONFIG="$(CONFIG)" SUITE="$(SUITE)" harness/test.sh

check:
	@harness/check.sh

patches: setup
	@. harness/lib.sh && set_version_paths && harness/patches.py . "$$VDIR"

setup:
	@harness/setup.sh

clean:
	rm -rf out
