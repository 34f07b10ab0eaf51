#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Boots one configuration's kernel, as build.sh built it (this builds no
# kernel), to userspace in QEMU and runs the vsvm selftests there: debug
# with two edu PCI devices behind an emulated Intel IOMMU (SMP), fast as a
# smoke run on two platform devices of the driver with direct DMA (the
# guest is guest-lib.sh's, shared with demo.sh). Each
# tools/testing/selftests/drivers/gpu/vsvm/*_test.c is one static binary in
# the initramfs, run by /init (guest/init.c).
#
# Usage: guest.sh CONFIG
#
# vsvm_stress_test runs its short form here: STRESS_SECONDS (default 60 in
# debug, 10 in the smoke run), half on one device, half on two; make stress
# runs it for minutes (stress.sh).
#
# SELFTEST="ARGS" is passed to every test binary, e.g. kselftest_harness's
# filters "-t TEST" or "-r FIXTURE.VARIANT.TEST"; SELFTEST_BINS=NAME[,NAME...]
# runs only these binaries (source file names without .c).
#
# Console log: out/test/selftests-<config>.log. Fails on a failed, crashed or
# hung test, a missing /dev/dri node, a guest without a translating IOMMU, a
# skipped fault-injection walk (vsvm_inject_test) on a kernel with failslab
# and fail_page_alloc, and any kernel splat. The last line it prints is
# "selftests CONFIG: N passed, N failed, N skipped".

. "$(dirname "$0")/lib.sh"
. "$HARNESS/guest-lib.sh"

config=${1:?usage: guest.sh CONFIG}
set_version_paths

build=$VDIR/build-$config
logfile=$OUT/test/selftests-$config.log
counts=$OUT/test/selftests-$config.counts
srcdir=tools/testing/selftests/drivers/gpu/vsvm
timeout=1200
mkdir -p "$OUT/test"
rm -f "$counts"

give_up() {
	echo "selftests $config: $*"
	echo "0 1 0" > "$counts"
	echo "selftests $config: 0 passed, 1 failed, 0 skipped"
	exit 1
}

guest_config "$config"
# Platform devices (all but debug) DMA directly: no IOMMU to check.
judge=()
[ "$config" = debug ] || judge=(--no-iommu)
# A kernel with failslab and fail_page_alloc in debugfs (debug) runs the
# fault-injection walk: it must not skip there.
if grep -q '^CONFIG_FAILSLAB=y' "$build/.config" &&
   grep -q '^CONFIG_FAIL_PAGE_ALLOC=y' "$build/.config" &&
   grep -q '^CONFIG_FAULT_INJECTION_DEBUG_FS=y' "$build/.config"; then
	judge+=(--no-skip vsvm_inject_test)
fi
why=$(guest_check_kernel "$build") || give_up "$why"
[[ ${SELFTEST:-} != *'"'* ]] || give_up "SELFTEST cannot hold a double quote"

"$HARNESS/sync-tree.py" "$REPO" "$TREE"

guest_workdir "$build"
guest_compile "$guest_work/init" "$HARNESS/guest/init.c" || give_up "init.c does not compile"
binaries=() names=()
for src in "$TREE/$srcdir"/*_test.c; do
	[ -e "$src" ] || continue
	name=$(basename "$src" .c)
	guest_compile "$guest_work/$name" "$src" || give_up "$srcdir/$name.c does not compile"
	binaries+=("$guest_work/$name")
	names+=("$name")
done
guest_initramfs "${binaries[@]}"

cmdline=$guest_cmdline
stress_seconds=10
[ "$config" != debug ] || stress_seconds=60
cmdline+=" vsvm.stress_seconds=${STRESS_SECONDS:-$stress_seconds}"
if [ -n "${SELFTEST_BINS:-}" ]; then
	IFS=, read -ra names <<< "$SELFTEST_BINS"
	for name in "${names[@]}"; do
		[ -e "$TREE/$srcdir/$name.c" ] || give_up "no $srcdir/$name.c"
	done
	cmdline+=" vsvm.selftests=$SELFTEST_BINS"
fi
[ -z "${SELFTEST:-}" ] || cmdline+=" vsvm.selftest_args=\"$SELFTEST\""

log "selftests $config: booting; tests: ${names[*]:-none}"
start=$SECONDS
guest_boot "$cmdline" "$logfile" "$timeout"
log "selftests $config: ran in $((SECONDS - start)) s, /init at $guest_init_at s after boot" \
	"(console log: out/test/selftests-$config.log)"

"$HARNESS/selftests.py" --config "$config" --log "$logfile" --counts "$counts" \
	--qemu-status "$guest_status" --timeout "$timeout" "${judge[@]}" --tests "${names[@]}"
