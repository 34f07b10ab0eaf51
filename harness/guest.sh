#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Boots one configuration's kernel, as build.sh built it (this builds no
# kernel), to userspace in QEMU and runs the vsvm selftests there: debug
# with two edu PCI devices behind an emulated Intel IOMMU (SMP), fast as a
# smoke run on two platform devices of the driver with direct DMA. Each
# tools/testing/selftests/drivers/gpu/vsvm/*_test.c is one static binary in
# the initramfs, run by /init (guest/init.c).
#
# Usage: guest.sh CONFIG
#
# SELFTEST="ARGS" is passed to every test binary, e.g. kselftest_harness's
# filters "-t TEST" or "-r FIXTURE.VARIANT.TEST"; SELFTEST_BINS=NAME[,NAME...]
# runs only these binaries (source file names without .c).
#
# Console log: out/test/selftests-<config>.log. Fails on a failed, crashed or
# hung test, a missing /dev/dri node, a guest without a translating IOMMU and
# any kernel splat. The last line it prints is
# "selftests CONFIG: N passed, N failed, N skipped".

. "$(dirname "$0")/lib.sh"

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

case $config in
debug)
	# The real thing: two edu PCI devices behind a strict Intel IOMMU.
	needed=(BLK_DEV_INITRD DEVTMPFS TMPFS DEBUG_FS PCI ACPI INTEL_IOMMU DRM_VSVM)
	machine=(-machine q35 -smp 2 -device intel-iommu -device edu -device edu)
	cmdline_extra="intel_iommu=on iommu.strict=1"
	judge=()
	;;
*)
	# A smoke run: two platform devices of the driver, direct DMA.
	needed=(BLK_DEV_INITRD DEVTMPFS TMPFS DEBUG_FS DRM_VSVM)
	machine=()
	cmdline_extra="vsvm.platform_devices=2"
	judge=(--no-iommu)
	;;
esac
for opt in "${needed[@]}"; do
	grep -q "^CONFIG_$opt=y" "$build/.config" 2>/dev/null || \
		give_up "no CONFIG_$opt=y in $build/.config: this kernel cannot run the guest"
done
[[ ${SELFTEST:-} != *'"'* ]] || give_up "SELFTEST cannot hold a double quote"

"$HARNESS/sync-tree.py" "$REPO" "$TREE"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A private copy: the build directory may be rebuilt while the guest runs.
cp "$build/arch/x86/boot/bzImage" "$work/bzImage"

# The tree's uAPI headers as they are, not through headers_install: drm.h
# still has its __user annotations.
compile() {
	gcc -O2 -g -static -pthread -Wall -I"$TREE/tools/testing/selftests" \
		-I"$TREE/include/uapi/drm" -D__user= -o "$@"
}

compile "$work/init" "$HARNESS/guest/init.c" || give_up "init.c does not compile"
binaries=() names=()
for src in "$TREE/$srcdir"/*_test.c; do
	[ -e "$src" ] || continue
	name=$(basename "$src" .c)
	compile "$work/$name" "$src" || give_up "$srcdir/$name.c does not compile"
	binaries+=("$work/$name")
	names+=("$name")
done
"$HARNESS/guest/mkinitramfs.py" "$work/initramfs.cpio" "$work/init" "${binaries[@]}"

# A small VRAM, so that a few ten MiB overcommit it.
cmdline="console=ttyS0 kunit.enable=0 vsvm.vram_mb=16 $cmdline_extra panic=-1"
if [ -n "${SELFTEST_BINS:-}" ]; then
	IFS=, read -ra names <<< "$SELFTEST_BINS"
	for name in "${names[@]}"; do
		[ -e "$TREE/$srcdir/$name.c" ] || give_up "no $srcdir/$name.c"
	done
	cmdline+=" vsvm.selftests=$SELFTEST_BINS"
fi
[ -z "${SELFTEST:-}" ] || cmdline+=" vsvm.selftest_args=\"$SELFTEST\""

# kunit.py's x86_64 command line (qemu_configs/x86_64.py), with a q35
# machine for the IOMMU; panic=-1 and -no-reboot end QEMU on a panic.
qemu=(qemu-system-x86_64 -nodefaults -m 2048 "${machine[@]}"
      -kernel "$work/bzImage" -initrd "$work/initramfs.cpio" -append "$cmdline"
      -no-reboot -nographic -serial stdio -bios qboot.rom)

log "selftests $config: booting; tests: ${names[*]:-none}"
start=$SECONDS
status=0
{
	printf '$'; printf ' %q' "${qemu[@]}"; echo
	timeout --kill-after=10 "$timeout" "${qemu[@]}" < /dev/null 2>&1 || status=$?
} > "$logfile"
[ "$status" -ne 137 ] || status=124
init_at=$(sed -n 's/.*vsvm-guest: init at \([0-9.]*\) s after boot.*/\1/p' "$logfile")
log "selftests $config: ran in $((SECONDS - start)) s, /init at ${init_at:-?} s after boot" \
	"(console log: out/test/selftests-$config.log)"

"$HARNESS/selftests.py" --config "$config" --log "$logfile" --counts "$counts" \
	--qemu-status "$status" --timeout "$timeout" "${judge[@]}" --tests "${names[@]}"
