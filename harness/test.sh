#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make test: set up (first run only), test the splat scanner and the selftest
# log judge, then build and run the KUnit suites on each configuration, boot
# each kernel to userspace for the vsvm selftests (guest.sh), and boot the
# debug kernel once more for the kernel's HMM selftest against the stock
# test_hmm and against the helpers (hmm-tests.sh). The last line is the sum
# over all: "N passed, N failed, N skipped".
#
# CONFIG=fast|debug limits the run to one configuration, SUITE=glob to one
# KUnit suite (or "suite.case"; no selftests then), SUITE=selftests to the
# selftests (build and guest, no KUnit), SUITE=hmm-tests to the HMM selftest
# (build and guest). SELFTEST="ARGS" passes kselftest_harness filters to
# every selftest binary (and to hmm-tests), SELFTEST_BINS=a,b runs only these
# binaries (see guest.sh). The selftest boots run the short form of the
# stress test (vsvm_stress_test: 60 s in debug, 10 s in fast;
# STRESS_SECONDS=N overrides) and, last, the fault-injection walk
# (vsvm_inject_test), which needs failslab and fail_page_alloc: the debug
# kernel has them and its boot fails if the walk skips; the fast kernel has
# neither, and its smoke run counts the walk's 6 tests as skipped. Both
# count in the last line like every selftest.

. "$(dirname "$0")/lib.sh"

configs=${CONFIG:-fast debug}
suite=${SUITE:-}
# The configurations whose kernel boots the selftest guest: debug behind the
# IOMMU, fast (a smoke run) on platform devices with direct DMA.
guest_configs="fast debug"
boots_guest() { [[ " $guest_configs " == *" $1 "* ]]; }
# The configurations whose kernel has the HMM test modules.
hmm_configs="debug"
runs_hmm_tests() { [[ " $hmm_configs " == *" $1 "* ]]; }
total_start=$SECONDS

"$HARNESS/setup.sh"

# self_test WHAT NAME: run harness/tests/NAME.sh, log to out/NAME.log.
self_test() {
	"$HARNESS/tests/$2.sh" > "$OUT/$2.log" 2>&1 || {
		cat "$OUT/$2.log"
		echo "the $1 failed its own tests"
		echo "0 passed, 1 failed"
		exit 1
	}
	log "$1: $(tail -n 1 "$OUT/$2.log")"
}
self_test "splat scanner" test-splat-scan
self_test "selftest log judge" test-selftests

if [ "$suite" = selftests ]; then
	asked=$configs configs=
	for config in $asked; do
		boots_guest "$config" && configs+=" $config"
	done
	[ -n "$configs" ] || { echo "SUITE=selftests: only $guest_configs boots the guest"; exit 2; }
elif [ "$suite" = hmm-tests ]; then
	asked=$configs configs=
	for config in $asked; do
		runs_hmm_tests "$config" && configs+=" $config"
	done
	[ -n "$configs" ] || { echo "SUITE=hmm-tests: only $hmm_configs runs it"; exit 2; }
fi

status=0
passed=0 failed=0 skipped=0
# add_counts FILE: add FILE's "passed failed skipped"; no FILE is one failure.
add_counts() {
	local p=0 f=1 s=0

	[ ! -f "$1" ] || read -r p f s < "$1"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

for config in $configs; do
	if [ "$suite" = selftests ] || [ "$suite" = hmm-tests ]; then
		"$HARNESS/build.sh" "$config" || { status=1 failed=$((failed + 1)); continue; }
	else
		counts=$OUT/test/kunit-$config.json.counts
		rm -f "$counts"
		"$HARNESS/kunit.sh" "$config" $suite || status=1
		add_counts "$counts"
	fi
	# The guest boots the kernel just built (never a new build); after a
	# failed build, the KUnit stage has counted the failure.
	if boots_guest "$config" && [[ -z $suite || $suite == selftests ]] &&
	   [ -f "$OUT/test/build-$config.ok" ]; then
		counts=$OUT/test/selftests-$config.counts
		rm -f "$counts"
		"$HARNESS/guest.sh" "$config" || status=1
		add_counts "$counts"
	fi
	if runs_hmm_tests "$config" && [[ -z $suite || $suite == hmm-tests ]] &&
	   [ -f "$OUT/test/build-$config.ok" ]; then
		counts=$OUT/test/hmm-tests-$config.counts
		rm -f "$counts"
		"$HARNESS/hmm-tests.sh" "$config" || status=1
		add_counts "$counts"
	fi
done

log "total time $((SECONDS - total_start)) s"
[ "$failed" -eq 0 ] || status=1
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
exit "$status"
