#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Self-test of selftests.py, the judge of the selftest guest's console log,
# on the canned logs in selftest-logs/: each check gives the counts it must
# write ("passed failed skipped"), a line its output must contain and its
# arguments. It must exit 1 exactly when it counts a failure.

set -euo pipefail

dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
judge=$dir/../selftests.py
logs=$dir/selftest-logs
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
total=0
failed=0

# check LOG COUNTS MESSAGE [SELFTESTS.PY ARGS...]
check() {
	local log=$1 want=$2 message=$3 out rc=0 counts want_rc=0

	shift 3
	out=$("$judge" --config test --log "$logs/$log" --counts "$tmp/counts" "$@" 2>&1) || rc=$?
	counts=$(cat "$tmp/counts" 2>/dev/null || echo none)
	[[ $want == *" 0 "* ]] || want_rc=1
	total=$((total + 1))
	if [[ $counts == "$want" && $rc == "$want_rc" && $out == *"$message"* ]]; then
		echo "ok   $log ${*:-}"
	else
		echo "FAIL $log ${*:-}: counts $counts (expected $want), exit status $rc," \
			"output (expected to contain '$message'):"
		echo "$out"
		failed=$((failed + 1))
	fi
}

check pass.log "4 0 1" "test: 4 passed, 0 failed, 1 skipped" --tests fault_test migrate_test
check pass.log "4 1 1" "other_test: did not run" --tests fault_test migrate_test other_test
check empty.log "0 0 0" "test: 0 passed, 0 failed, 0 skipped"
check empty.log "0 1 0" "QEMU exited with status 1" --qemu-status 1
check failed.log "2 2 1" "not ok: smoke_test: global.fails" --tests crash_test smoke_test
check failed.log "2 2 1" "crash_test: ended with signal=11; 1 of its 2 tests reported nothing" \
	--tests crash_test smoke_test
check hang.log "0 1 0" "timed out after 1200 s in hang_test" \
	--tests hang_test --qemu-status 124 --timeout 1200
check panic.log "1 3 0" "fault_test: did not end" --tests fault_test
check panic.log "1 3 0" "kernel splat in the console log" --tests fault_test
check no-iommu.log "0 1 0" 'no "DMAR: IOMMU enabled"'
check no-dri.log "2 1 1" "no /dev/dri node" --tests fault_test
check bad-args.log "0 1 0" "fault_test: ended with exit=1 without a failed test" --tests fault_test
check skip-all.log "0 0 1" "test: 0 passed, 0 failed, 1 skipped" --tests hmm_test
check skip-all.log "0 1 0" "hmm_test: 1 skipped, but this configuration must run it" \
	--tests hmm_test --no-skip hmm_test
check pass.log "4 1 0" "fault_test: 1 skipped, but this configuration must run it" \
	--tests fault_test migrate_test --no-skip fault_test
check pass.log "4 0 1" "test: 4 passed, 0 failed, 1 skipped" \
	--tests fault_test migrate_test --no-skip migrate_test
check splat.log "2 1 1" "kernel splat in the console log" --tests fault_test
check garbled.log "1 1 1" "1 of its 3 tests reported nothing" --tests fault_test
check garbled.log "1 1 1" 'do not add up to its "# Totals" line' --tests fault_test
check init-error.log "2 2 1" "init: mount debugfs" --tests fault_test

echo "$((total - failed))/$total passed"
[[ $failed == 0 ]]
