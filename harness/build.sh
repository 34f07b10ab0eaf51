#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Syncs the kernel tree with the repository and builds one configuration's
# kernel with kunit.py, for the KUnit suites (kunit.sh) and the selftest
# guest (guest.sh) and the demo (demo.sh).
#
# Usage: build.sh fast|debug
#
# Build log: out/test/build-<config>.log; out/test/build-<config>.ok exists
# after a successful build only.

. "$(dirname "$0")/lib.sh"

config=${1:?usage: build.sh fast|debug}
set_version_paths

case $config in
fast)
	kunitconfigs=(--kunitconfig="$HARNESS/kunitconfig/fast")
	;;
debug)
	kunitconfigs=(--kunitconfig="$HARNESS/kunitconfig/fast"
		      --kunitconfig="$HARNESS/kunitconfig/debug")
	;;
*)
	echo "build.sh: unknown configuration '$config'" >&2
	exit 2
	;;
esac

build=$VDIR/build-$config
mkdir -p "$OUT/test"
rm -f "$OUT/test/build-$config.ok"

"$HARNESS/sync-tree.py" "$REPO" "$TREE"

start=$SECONDS
log "$config: building in $build"
if ! (cd "$TREE" && python3 tools/testing/kunit/kunit.py build "${kunitconfigs[@]}" \
	--arch=x86_64 --build_dir="$build" --jobs="$JOBS") > "$OUT/test/build-$config.log" 2>&1; then
	tail -n 40 "$OUT/test/build-$config.log"
	echo "$config: build failed (full log: out/test/build-$config.log)"
	exit 1
fi
touch "$OUT/test/build-$config.ok"
log "$config: built in $((SECONDS - start)) s"
