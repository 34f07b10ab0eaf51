#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make stress: builds the debug kernel (build.sh debug, incremental once the
# build directory exists), boots it as the debug selftests do (guest-lib.sh:
# two edu devices behind an emulated Intel IOMMU, 2 vCPUs, 16 MiB of VRAM
# each) with vsvm_stress_test as the guest's only program, run for DURATION
# seconds in all (half on one device, half on two), and writes the table of
# what it did.
#
# Usage: stress.sh
#
# DURATION=<seconds> (default 300); STRESS_NO_BUILD=1 boots the debug kernel
# already built, as it is.
#
# Console log: out/stress/stress.log; the table: out/stress/summary.md.
# Fails on a failed check of the test (a lost byte, an unexpected error, a
# thread without progress, an IOMMU fault or a stale IOVA), a crash or a
# hang of the guest and any kernel splat, judged by selftests.py as the
# selftests are. The last line it prints is
# "stress: N passed, N failed, N skipped".

. "$(dirname "$0")/lib.sh"
. "$HARNESS/guest-lib.sh"

config=debug
duration=${DURATION:-300}
name=vsvm_stress_test
srcdir=tools/testing/selftests/drivers/gpu/vsvm
outdir=$OUT/stress
logfile=$outdir/stress.log
[[ $duration =~ ^[0-9]+$ ]] || { echo "stress: DURATION must be seconds"; exit 2; }
# A hang detector: the test stops itself after DURATION.
timeout=$((duration + 900))
mkdir -p "$outdir"
rm -f "$outdir/counts" "$outdir/summary.md"

give_up() {
	echo "stress: $*"
	echo "stress: 0 passed, 1 failed, 0 skipped"
	exit 1
}

start=$SECONDS
if [[ ${STRESS_NO_BUILD:-0} == 0 ]]; then
	"$HARNESS/setup.sh"
	"$HARNESS/build.sh" "$config" || give_up "the $config kernel did not build"
fi
set_version_paths
build=$VDIR/build-$config
[ -f "$build/arch/x86/boot/bzImage" ] ||
	give_up "no kernel in $build (STRESS_NO_BUILD=1 needs one built)"

guest_config "$config"
why=$(guest_check_kernel "$build") || give_up "$why"
[[ ${STRESS_NO_BUILD:-0} != 0 ]] || "$HARNESS/sync-tree.py" "$REPO" "$TREE" > /dev/null
guest_workdir "$build"
guest_compile "$guest_work/init" "$HARNESS/guest/init.c" || give_up "init.c does not compile"
guest_compile "$guest_work/$name" "$TREE/$srcdir/$name.c" || give_up "$name.c does not compile"
guest_initramfs "$guest_work/$name"

log "stress: booting the $config kernel for $duration s of stress"
boot=$SECONDS
guest_boot "$guest_cmdline vsvm.stress_seconds=$duration" "$logfile" "$timeout"
log "stress: the guest ran in $((SECONDS - boot)) s, /init at $guest_init_at s after boot;" \
	"$((SECONDS - start)) s in all (console log: out/stress/stress.log)"

status=0
"$HARNESS/selftests.py" --config stress --log "$logfile" --counts "$outdir/counts" \
	--qemu-status "$guest_status" --timeout "$timeout" --tests "$name" > "$outdir/judge.txt" || status=1
"$HARNESS/stress-summary.py" "$logfile" "$outdir/judge.txt" > "$outdir/summary.md" || status=1
cat "$outdir/summary.md"
echo
cat "$outdir/judge.txt"
exit "$status"
