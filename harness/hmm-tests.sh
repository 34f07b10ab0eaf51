#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Runs the kernel's own HMM selftest, tools/testing/selftests/mm/hmm-tests.c
# as it is in the tree (static, with the tree's kselftest_harness.h), in one
# boot of a configuration's kernel as build.sh built it (this builds no
# kernel): first against the stock lib/test_hmm.c (test_hmm.ko, the
# baseline), then against drm_gpusvm_dmirror.ko, the same uAPI on the GPU
# SVM helpers (drivers/gpu/drm/tests/drm_gpusvm_dmirror.c). The guest's /init
# runs harness/guest/hmm-run.c, which reserves huge pages, loads each module,
# runs hmm-tests and unloads it.
#
# Usage: hmm-tests.sh CONFIG
#
# SELFTEST="ARGS" is passed to hmm-tests, e.g. "-t migrate".
#
# Console log: out/test/hmm-tests-<config>.log; case-by-case table with the
# time of each case: out/test/hmm-tests-<config>.md. The judge
# (harness/hmm-tests.py) fails the run on a case that passes on the baseline
# and not on ours, a case that did not run, a crash, a hang, a module that
# did not load or unload, and any kernel splat. The last line it prints is
# "hmm-tests CONFIG: N passed, N failed, N skipped" (our module's results).

. "$(dirname "$0")/lib.sh"
. "$HARNESS/guest-lib.sh"

config=${1:?usage: hmm-tests.sh CONFIG}
set_version_paths

build=$VDIR/build-$config
logfile=$OUT/test/hmm-tests-$config.log
counts=$OUT/test/hmm-tests-$config.counts
modules=(lib/test_hmm.ko drivers/gpu/drm/tests/drm_gpusvm_dmirror.ko)
timeout=1200
mkdir -p "$OUT/test"
rm -f "$counts"

give_up() {
	echo "hmm-tests $config: $*"
	echo "0 1 0" > "$counts"
	echo "hmm-tests $config: 0 passed, 1 failed, 0 skipped"
	exit 1
}

guest_config "$config"
why=$(guest_check_kernel "$build") || give_up "$why"
for ko in "${modules[@]}"; do
	[ -f "$build/$ko" ] || give_up "no $ko in $build: its kernel is not built with it as a module"
done
[[ ${SELFTEST:-} != *'"'* ]] || give_up "SELFTEST cannot hold a double quote"

guest_workdir "$build"
guest_compile "$guest_work/init" "$HARNESS/guest/init.c" || give_up "init.c does not compile"
guest_compile "$guest_work/hmm-run" "$HARNESS/guest/hmm-run.c" || give_up "hmm-run.c does not compile"
# As the selftests' Makefile builds it: the tree's kselftest_harness.h next to
# it, lib/test_hmm_uapi.h and mm/gup_test.h from the top of the tree.
gcc -O2 -g -static -pthread -I"$TREE" -o "$guest_work/hmm-tests" \
	"$TREE/tools/testing/selftests/mm/hmm-tests.c" > "$guest_work/cc.log" 2>&1 || {
	cat "$guest_work/cc.log"; give_up "hmm-tests.c does not compile"; }
files=(--file hmm/hmm-tests="$guest_work/hmm-tests")
: > "$guest_work/modules"
for ko in "${modules[@]}"; do
	files+=(--file "hmm/$(basename "$ko")=$build/$ko")
	basename "$ko" >> "$guest_work/modules"
done
files+=(--file hmm/modules="$guest_work/modules")
"$HARNESS/guest/mkinitramfs.py" "${files[@]}" "$guest_work/initramfs.cpio" \
	"$guest_work/init" "$guest_work/hmm-run"

cmdline=$guest_cmdline
[ -z "${SELFTEST:-}" ] || cmdline+=" vsvm.selftest_args=\"$SELFTEST\""

log "hmm-tests $config: booting; modules: ${modules[*]##*/}"
start=$SECONDS
guest_boot "$cmdline" "$logfile" "$timeout"
log "hmm-tests $config: ran in $((SECONDS - start)) s, /init at $guest_init_at s after boot" \
	"(console log: out/test/hmm-tests-$config.log)"

"$HARNESS/hmm-tests.py" --config "$config" --log "$logfile" --counts "$counts" \
	--table "$OUT/test/hmm-tests-$config.md" --qemu-status "$guest_status" \
	--timeout "$timeout" --modules "${modules[@]##*/}"
