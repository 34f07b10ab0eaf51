#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Builds (build.sh) and runs the drm_gpusvm KUnit suites in QEMU for one
# configuration.
#
# Usage: kunit.sh fast|debug [SUITE_GLOB]
#
# Raw console log: out/test/kunit-<config>.log. Fails on a failed, crashed
# or missing test, on a timeout and on any kernel splat in the log. The last
# line it prints is "CONFIG: N passed, N failed, N skipped".

. "$(dirname "$0")/lib.sh"

config=${1:?usage: kunit.sh fast|debug [SUITE_GLOB]}
suite=${2:-}
set_version_paths

case $config in
fast)
	qemu_args=()
	timeout=600
	;;
debug)
	qemu_args=(--qemu_args="-smp 2")
	timeout=1800
	;;
*)
	echo "kunit.sh: unknown configuration '$config'" >&2
	exit 2
	;;
esac

build=$VDIR/build-$config
logfile=$OUT/test/kunit-$config.log
json=$OUT/test/kunit-$config.json

"$HARNESS/build.sh" "$config"

kunit() {
	(cd "$TREE" && python3 tools/testing/kunit/kunit.py "$@" \
		--arch=x86_64 --build_dir="$build")
}

# Every suite of ours, unless one was asked for.
glob=${suite:-drm_gpusvm*}
start=$SECONDS
status=0
kunit exec "${qemu_args[@]}" --timeout="$timeout" --raw_output=all "$glob" \
	> "$logfile" 2>&1 || status=$?
log "$config: ran in $((SECONDS - start)) s (console log: out/test/kunit-$config.log)"

"$HARNESS/results.py" --config "$config" --log "$logfile" --json "$json" \
	--tree "$TREE" --suites "$REPO" ${suite:+--only "$suite"} || status=1
exit "$status"
