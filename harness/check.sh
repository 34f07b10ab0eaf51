#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make check: checkpatch --strict over our files, kernel-doc -Wall over our
# sources and headers, and a W=1 sparse (C=2) build of our objects in three
# configurations: built in, as a module (whose undefined symbols must all be
# exported), and without DEVICE_PRIVATE. Any warning fails it.

. "$(dirname "$0")/lib.sh"

"$HARNESS/setup.sh"
set_version_paths
"$HARNESS/sync-tree.py" "$REPO" "$TREE"
mkdir -p "$OUT/check"

mapfile -t ours < <(cd "$REPO" && git ls-files --cached --others --exclude-standard \
	-- 'drivers/*.[ch]' 'include/*.h' 'Documentation/*.rst' 'tools/*.[ch]' | sort)
mapfile -t sources < <(printf '%s\n' "${ours[@]}" | grep -E '^(drivers|include)/.*\.[ch]$')
mapfile -t objects < <(printf '%s\n' "${ours[@]}" | grep -E '^drivers/.*\.c$' | sed 's/\.c$/.o/')

# Built only with DEVICE_PRIVATE (see the Makefile hunks).
devmem_objects=(drivers/gpu/drm/drm_pagemap.o drivers/gpu/drm/drm_pagemap_util.o
		drivers/gpu/drm/tests/drm_gpusvm_test_vram.o
		drivers/gpu/drm/tests/drm_gpusvm_migrate_test.o
		drivers/gpu/drm/tests/drm_gpusvm_multi_test.o
		drivers/gpu/drm/tests/drm_gpusvm_inject_test.o
		drivers/gpu/drm/tests/drm_gpusvm_hostile_test.o
		drivers/gpu/drm/tests/drm_gpusvm_bench.o
		drivers/gpu/drm/tests/drm_gpusvm_dmirror.o
		drivers/gpu/drm/vsvm/vsvm_drv.o drivers/gpu/drm/vsvm/vsvm_job.o
		drivers/gpu/drm/vsvm/vsvm_svm.o drivers/gpu/drm/vsvm/vsvm_vram.o)

status=0
fail() { echo "check: $*"; status=1; }

log "checkpatch --strict"
# checkpatch runs spdxcheck.py with python3 from PATH: Debian's has its modules.
# MACRO_ARG_REUSE: a for_each iterator names its cursor in every clause of its
# for (as list_for_each_entry() does); every other check counts.
if ! (cd "$TREE" && PATH=/usr/bin:$PATH scripts/checkpatch.pl --strict --quiet --no-summary \
	--ignore FILE_PATH_CHANGES,MACRO_ARG_REUSE -f "${ours[@]}") > "$OUT/check/checkpatch.log" 2>&1; then
	cat "$OUT/check/checkpatch.log"
	fail "checkpatch reported problems"
fi

log "kernel-doc -none -Wall"
(cd "$TREE" && scripts/kernel-doc -none -Wall "${sources[@]}") > "$OUT/check/kernel-doc.log" 2>&1 || true
if [ -s "$OUT/check/kernel-doc.log" ]; then
	cat "$OUT/check/kernel-doc.log"
	fail "kernel-doc reported problems"
fi

make_tree() {
	make -C "$TREE" ARCH=x86_64 O="$1" -j"$JOBS" "${@:2}"
}

# config_has DIR OPTION: the .config has what a scripts/config option asked.
config_has() {
	case $2 in
	-e*) grep -q "^CONFIG_${2#-e }=y" "$1/.config" ;;
	-m*) grep -q "^CONFIG_${2#-m }=m" "$1/.config" ;;
	-d*) ! grep -q "^CONFIG_${2#-d }=[ym]" "$1/.config" ;;
	esac
}

# check_config NAME [SCRIPTS_CONFIG_OPTION...]: the fast configuration changed
# by scripts/config options ("-e SYM", "-m SYM", "-d SYM"), prepared, and our
# objects built with W=1 and sparse.
check_config() {
	local name=$1 dir=$VDIR/check-$1 objs=() o opt
	shift
	(cd "$TREE" && python3 tools/testing/kunit/kunit.py config --arch=x86_64 \
		--build_dir="$dir" --kunitconfig="$HARNESS/kunitconfig/fast") \
		> "$OUT/check/config-$name.log" 2>&1 || {
		cat "$OUT/check/config-$name.log"; fail "$name: configuration failed"; return; }
	for opt in "$@"; do
		# shellcheck disable=SC2086 # "-e SYM" is two words on purpose
		"$TREE/scripts/config" --file "$dir/.config" $opt
	done
	make_tree "$dir" -s olddefconfig >> "$OUT/check/config-$name.log" 2>&1
	for opt in "$@"; do
		config_has "$dir" "$opt" || { fail "$name: '$opt' did not take"; return; }
	done
	make_tree "$dir" -s prepare > "$OUT/check/prepare-$name.log" 2>&1 || {
		tail -n 20 "$OUT/check/prepare-$name.log"; fail "$name: make prepare failed"; return; }
	for o in "${objects[@]}"; do
		# The HMM mirror device is a module of its own, not a suite.
		grep -q "^CONFIG_DRM_GPUSVM_KUNIT_TEST=y" "$dir/.config" || [[ $o != */tests/* ]] ||
			[[ $o == */drm_gpusvm_dmirror.o ]] || continue
		grep -q "^CONFIG_DEVICE_PRIVATE=y" "$dir/.config" || [[ " ${devmem_objects[*]} " != *" $o "* ]] || continue
		objs+=("$o")
	done
	log "$name: W=1 C=2 ${objs[*]}"
	make_tree "$dir" W=1 C=2 "${objs[@]}" > "$OUT/check/build-$name.log" 2>&1 || \
		fail "$name: build failed"
	if grep -E 'warning:|error:' "$OUT/check/build-$name.log"; then
		fail "$name: compiler or sparse warnings"
	fi
	CHECK_DIR=$dir
	CHECK_OBJS=("${objs[@]}")
}

# The reference driver needs PCI; it is built in the three configurations
# that have DEVICE_PRIVATE, and so is the HMM mirror test device. The
# benchmark suite is built in the first.
check_config builtin '-e PCI' '-e DRM_VSVM' '-e DRM_GPUSVM_BENCH' '-e DRM_GPUSVM_DMIRROR'

# The suites are built in (they call unexported helpers): with DRM as a
# module, their option must not be available.
dir=$VDIR/check-drm-module
if (cd "$TREE" && python3 tools/testing/kunit/kunit.py config --arch=x86_64 \
	--build_dir="$dir" --kunitconfig="$HARNESS/kunitconfig/fast") \
	> "$OUT/check/config-drm-module.log" 2>&1; then
	"$TREE/scripts/config" --file "$dir/.config" -e MODULES -m DRM
	make_tree "$dir" -s olddefconfig >> "$OUT/check/config-drm-module.log" 2>&1
	config_has "$dir" "-m DRM" || fail "drm-module: DRM=m did not take"
	config_has "$dir" "-d DRM_GPUSVM_KUNIT_TEST" || \
		fail "drm-module: the KUnit suites build in against a modular DRM"
else
	cat "$OUT/check/config-drm-module.log"
	fail "drm-module: configuration failed"
fi
check_config module '-e MODULES' '-e COMPILE_TEST' '-d DRM_GPUSVM_KUNIT_TEST' \
	'-m DRM_GPUSVM' '-e PCI' '-m DRM_VSVM' '-m DRM_GPUSVM_DMIRROR'
# A module may only use exported symbols (or its own, and __this_module that
# modpost adds): those of the fast kernel, which the module configuration is
# made from, and of the debug kernel, which has the PCI and IOMMU calls of the
# reference driver.
for config in fast debug; do
	if [ ! -f "$VDIR/build-$config/Module.symvers" ]; then
		log "module: building the $config kernel for its Module.symvers"
		"$HARNESS/kunit.sh" "$config" > /dev/null 2>&1 || true
	fi
done
symvers=$OUT/check/Module.symvers
cat "$VDIR"/build-{fast,debug}/Module.symvers > "$symvers" 2>/dev/null || true
echo "0x0 __this_module" >> "$symvers"
if [ -f "$symvers" ] && [ ${#CHECK_OBJS[@]} -gt 0 ]; then
	(cd "$CHECK_DIR" && nm --defined-only "${CHECK_OBJS[@]}" | awk 'NF == 3 { print $3 }') \
		| sort -u > "$OUT/check/module-defined.txt"
	(cd "$CHECK_DIR" && nm -u "${CHECK_OBJS[@]}" | awk 'NF == 2 { print $2 }') | sort -u \
		| comm -23 - "$OUT/check/module-defined.txt" \
		| comm -23 - <(awk '{ print $2 }' "$symvers" | sort -u) > "$OUT/check/unexported.txt"
	if [ -s "$OUT/check/unexported.txt" ]; then
		cat "$OUT/check/unexported.txt"
		fail "module: uses symbols the kernel does not export"
	fi
else
	fail "module: no Module.symvers to check exports against"
fi
check_config nodp '-d DEVICE_PRIVATE'
# Without device-private memory, whatever our objects call (the core suite
# calls every drm_pagemap function there) must be theirs or the kernel's:
# drm_pagemap.o is not built, so a declaration without a stub fails here.
vmlinux=$VDIR/build-fast/vmlinux
if [ -f "$vmlinux" ] && [ ${#CHECK_OBJS[@]} -gt 0 ]; then
	grep -q '^CONFIG_DRM_GPUSVM_KUNIT_TEST=y' "$CHECK_DIR/.config" || \
		fail "nodp: the suites that call drm_pagemap are not built"
	(cd "$CHECK_DIR" && nm --defined-only "${CHECK_OBJS[@]}" | awk 'NF == 3 { print $3 }') \
		| sort -u > "$OUT/check/nodp-defined.txt"
	nm --defined-only "$vmlinux" | awk 'NF == 3 && $3 !~ /^(drm_gpusvm|drm_pagemap)_/ { print $3 }' \
		| sort -u > "$OUT/check/nodp-kernel.txt"
	(cd "$CHECK_DIR" && nm -u "${CHECK_OBJS[@]}" | awk 'NF == 2 { print $2 }') | sort -u \
		| comm -23 - "$OUT/check/nodp-defined.txt" \
		| comm -23 - "$OUT/check/nodp-kernel.txt" > "$OUT/check/nodp-unresolved.txt"
	if [ -s "$OUT/check/nodp-unresolved.txt" ]; then
		cat "$OUT/check/nodp-unresolved.txt"
		fail "nodp: calls that do not link without DEVICE_PRIVATE"
	fi
else
	fail "nodp: no vmlinux or objects to check the links against"
fi

[ "$status" -eq 0 ] && log "check: clean"
exit "$status"
