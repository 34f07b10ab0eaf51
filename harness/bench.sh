#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bench: build the fast kernel with the benchmark suite in its own build
# directory ($VDIR/build-bench), run the gpusvm_bench KUnit suite in QEMU and
# turn its "# bench:" lines into out/bench/results.json, out/bench/report.md
# and PNG plots (bench-report.py, with Debian's python3-matplotlib).
#
# BENCH_NO_BUILD=1: run the kernel already built in build-bench, as it is.
#
# Console log: out/bench/kunit.log; build log: out/bench/build.log. Fails on
# a failed or crashed case, a timeout, a kernel splat or a report without its
# rows.

. "$(dirname "$0")/lib.sh"

EXTRA_PACKAGES="python3-matplotlib" "$HARNESS/setup.sh"
set_version_paths

build=$VDIR/build-bench
dir=$OUT/bench
mkdir -p "$dir"

kunit() {
	(cd "$TREE" && python3 tools/testing/kunit/kunit.py "$@" \
		--arch=x86_64 --build_dir="$build")
}

if [ -z "${BENCH_NO_BUILD:-}" ]; then
	"$HARNESS/sync-tree.py" "$REPO" "$TREE"
	start=$SECONDS
	log "bench: building in $build"
	# The fast configuration without the helpers' fault-injection sites:
	# with them, each site is a call that a running KUnit test (the
	# benchmark is one) checks for a static stub. kunit.py refuses a
	# second value for an option, so the line is left out here.
	fast=$dir/kunitconfig.fast
	grep -v '^CONFIG_DRM_GPUSVM_FAULT_INJECTION=' "$HARNESS/kunitconfig/fast" \
		> "$fast"
	echo '# CONFIG_DRM_GPUSVM_FAULT_INJECTION is not set' >> "$fast"
	if ! kunit build --kunitconfig="$fast" \
		--kunitconfig="$HARNESS/kunitconfig/bench" --jobs="$JOBS" \
		> "$dir/build.log" 2>&1; then
		tail -n 40 "$dir/build.log"
		echo "bench: build failed (full log: out/bench/build.log)"
		exit 1
	fi
	log "bench: built in $((SECONDS - start)) s"
fi

# The load around the run, for the report: the benchmark runs on one vCPU.
loadavg=$(cat /proc/loadavg)
start=$SECONDS
status=0
# 2 GiB: the lookup and invalidation rows hold a million ranges. A q35
# machine with an edu PCI device behind an Intel IOMMU in strict mode, as in
# the debug guest (guest-lib.sh), for the second column of the rows that map
# pages for DMA; the reference driver binds the device, with a small VRAM.
kunit exec --timeout=1800 --raw_output=all \
	--qemu_args='-m 2048 -machine q35 -device intel-iommu -device edu' \
	--kernel_args='intel_iommu=on iommu.strict=1 vsvm.vram_mb=16' \
	gpusvm_bench > "$dir/kunit.log" 2>&1 || status=$?
ran=$((SECONDS - start))
log "bench: ran in $ran s (console log: out/bench/kunit.log)"
loadavg_after=$(cat /proc/loadavg)

"$HARNESS/results.py" --config bench --log "$dir/kunit.log" \
	--json "$dir/kunit.json" --tree "$TREE" --suites "$REPO" \
	--only gpusvm_bench || status=1

/usr/bin/python3 "$HARNESS/bench-report.py" --log "$dir/kunit.log" \
	--out "$dir" --loadavg "$loadavg" --loadavg-after "$loadavg_after" \
	--seconds "$ran" \
	|| status=1
exit "$status"
