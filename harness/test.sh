#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make test: set up (first run only), test the splat scanner, then build and
# run the KUnit suites on each configuration. The last line is the sum over
# configurations: "N passed, N failed, N skipped".
#
# CONFIG=fast|debug limits the run to one configuration, SUITE=glob to one
# suite (or "suite.case").

. "$(dirname "$0")/lib.sh"

configs=${CONFIG:-fast debug}
suite=${SUITE:-}
total_start=$SECONDS

"$HARNESS/setup.sh"
"$HARNESS/tests/test-splat-scan.sh" > "$OUT/splat-scan-test.log" 2>&1 || {
	cat "$OUT/splat-scan-test.log"
	echo "the splat scanner failed its own tests"
	echo "0 passed, 1 failed"
	exit 1
}
log "splat scanner: $(tail -n 1 "$OUT/splat-scan-test.log")"

status=0
passed=0 failed=0 skipped=0
for config in $configs; do
	counts=$OUT/test/kunit-$config.json.counts
	rm -f "$counts"
	"$HARNESS/kunit.sh" "$config" $suite || status=1
	if [ -f "$counts" ]; then
		read -r p f s < "$counts"
	else
		p=0 f=1 s=0
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done

log "total time $((SECONDS - total_start)) s"
[ "$failed" -eq 0 ] || status=1
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
exit "$status"
