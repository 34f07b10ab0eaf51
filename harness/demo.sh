#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make demo: builds the debug kernel (build.sh debug, incremental once the
# build directory exists), boots it as the debug selftests do (guest-lib.sh:
# two edu devices behind an emulated Intel IOMMU, 2 vCPUs, 16 MiB of VRAM
# each) with harness/demo/vsvm_demo.c as the guest's only program, and
# prints the demo's table: one malloc() buffer through GPU first touch,
# VRAM, CPU faults, fork and a second device, with the driver's counters.
#
# Usage: demo.sh
#
# DEMO_NO_BUILD=1 boots the debug kernel already built, as it is: no setup,
# no build and no sync of the kernel tree, whose headers (as last synced)
# the demo compiles against.
#
# Console log: out/demo.log. The last line it prints is
# "demo: N of M checks held"; exits 1 unless every check held: the demo's
# own, the guest ran it to its end and shut down, and its kernel logged no
# splat.

. "$(dirname "$0")/lib.sh"
. "$HARNESS/guest-lib.sh"

config=debug
logfile=$OUT/demo.log
srcdir=tools/testing/selftests/drivers/gpu/vsvm
# A hang detector: the demo takes seconds.
timeout=600

give_up() {
	echo "demo: $*"
	echo "demo: 0 of 1 checks held"
	exit 1
}

start=$SECONDS
if [[ ${DEMO_NO_BUILD:-0} == 0 ]]; then
	"$HARNESS/setup.sh"
	"$HARNESS/build.sh" "$config" || give_up "the $config kernel did not build"
fi
set_version_paths
build=$VDIR/build-$config
[ -f "$build/arch/x86/boot/bzImage" ] ||
	give_up "no kernel in $build (DEMO_NO_BUILD=1 needs one built)"

guest_config "$config"
why=$(guest_check_kernel "$build") || give_up "$why"
guest_workdir "$build"
guest_compile "$guest_work/init" "$HARNESS/guest/init.c" || give_up "init.c does not compile"
guest_compile "$guest_work/vsvm_demo" "$HARNESS/demo/vsvm_demo.c" -I"$TREE/$srcdir" ||
	give_up "vsvm_demo.c does not compile"
guest_initramfs "$guest_work/vsvm_demo"

log "demo: booting the $config kernel"
boot=$SECONDS
guest_boot "$guest_cmdline" "$logfile" "$timeout"
log "demo: the guest ran in $((SECONDS - boot)) s, /init at $guest_init_at s after boot;" \
	"$((SECONDS - start)) s in all (console log: out/demo.log)"
echo
"$HARNESS/demo/judge.py" --log "$logfile" --qemu-status "$guest_status" --timeout "$timeout"
