# SPDX-License-Identifier: GPL-2.0-only
# The userspace guest: a kernel that build.sh built, booted in QEMU with an
# initramfs of /init (guest/init.c) and the static binaries it runs from
# /tests. Sourced after lib.sh by guest.sh (the selftests) and demo.sh (make
# demo), which choose the binaries and judge the console log.

# guest_config CONFIG: what CONFIG's guest is. debug is the real thing, two
# edu PCI devices behind a strict Intel IOMMU (SMP); any other configuration
# is a smoke run on two platform devices of the driver with direct DMA.
# Sets guest_needed (the options its kernel must have built in),
# guest_machine (QEMU's machine options) and guest_cmdline (the kernel
# command line).
guest_config() {
	local extra

	case $1 in
	debug)
		guest_needed=(BLK_DEV_INITRD DEVTMPFS TMPFS DEBUG_FS PCI ACPI INTEL_IOMMU DRM_VSVM)
		guest_machine=(-machine q35 -smp 2 -device intel-iommu -device edu -device edu)
		extra="intel_iommu=on iommu.strict=1"
		;;
	*)
		guest_needed=(BLK_DEV_INITRD DEVTMPFS TMPFS DEBUG_FS DRM_VSVM)
		guest_machine=()
		extra="vsvm.platform_devices=2"
		;;
	esac
	# A small VRAM, so that a few ten MiB overcommit it.
	guest_cmdline="console=ttyS0 kunit.enable=0 vsvm.vram_mb=16 $extra panic=-1"
}

# guest_check_kernel BUILD: fails, saying why, unless the kernel built in
# BUILD has every option of guest_needed.
guest_check_kernel() {
	local opt

	for opt in "${guest_needed[@]}"; do
		grep -q "^CONFIG_$opt=y" "$1/.config" 2>/dev/null || {
			echo "no CONFIG_$opt=y in $1/.config: this kernel cannot run the guest"
			return 1
		}
	done
}

# guest_workdir BUILD: a new directory guest_work, removed on exit, holding
# a private copy of BUILD's kernel: the build directory may be rebuilt while
# the guest runs.
guest_workdir() {
	guest_work=$(mktemp -d)
	trap 'rm -rf "$guest_work"' EXIT
	cp "$1/arch/x86/boot/bzImage" "$guest_work/bzImage"
}

# guest_compile OUTPUT SOURCE [GCC ARGS...]: a static binary for the guest.
# The tree's uAPI headers as they are, not through headers_install: drm.h
# still has its __user annotations.
guest_compile() {
	gcc -O2 -g -static -pthread -Wall -I"$TREE/tools/testing/selftests" \
		-I"$TREE/include/uapi/drm" -D__user= -o "$@"
}

# guest_initramfs BINARY...: guest_work/initramfs.cpio with guest_work/init
# as /init and BINARY... in /tests.
guest_initramfs() {
	"$HARNESS/guest/mkinitramfs.py" "$guest_work/initramfs.cpio" "$guest_work/init" "$@"
}

# guest_boot CMDLINE LOGFILE TIMEOUT: boots guest_work's kernel and initramfs
# with kernel command line CMDLINE, the QEMU command line then the console
# into LOGFILE, for at most TIMEOUT seconds. Sets guest_status to QEMU's exit
# status (124 on a timeout) and guest_init_at to the time /init started in
# seconds after boot ("?" if it never did).
guest_boot() {
	# kunit.py's x86_64 command line (qemu_configs/x86_64.py), with a q35
	# machine for the IOMMU; panic=-1 and -no-reboot end QEMU on a panic.
	local qemu=(qemu-system-x86_64 -nodefaults -m 2048 "${guest_machine[@]}"
		    -kernel "$guest_work/bzImage" -initrd "$guest_work/initramfs.cpio"
		    -append "$1" -no-reboot -nographic -serial stdio -bios qboot.rom)

	guest_status=0
	{
		printf '$'; printf ' %q' "${qemu[@]}"; echo
		timeout --kill-after=10 "$3" "${qemu[@]}" < /dev/null 2>&1 || guest_status=$?
	} > "$2"
	[ "$guest_status" -ne 137 ] || guest_status=124
	guest_init_at=$(sed -n 's/.*vsvm-guest: init at \([0-9.]*\) s after boot.*/\1/p' "$2")
	guest_init_at=${guest_init_at:-?}
}
