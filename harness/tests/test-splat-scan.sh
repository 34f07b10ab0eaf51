#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Self-test of splat-scan.py on the canned console logs in splat-logs/:
# clean.log must scan clean (exit 0, no output), clean-VARIANT.log must exit 0
# with only warnings its KUnit case declared ("expected"), and KIND.log or
# KIND-VARIANT.log must exit 1 with at least one splat of kind KIND.
# Also checks the exit status of usage errors and the output limit.

set -euo pipefail

dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
scan=$dir/../splat-scan.py
logs=$dir/splat-logs
total=0
failed=0

# result NAME OK [DETAILS]: print and count the result of one check.
result() {
	total=$((total + 1))
	if [[ $2 == 1 ]]; then
		echo "ok   $1"
	else
		echo "FAIL $1: $3"
		failed=$((failed + 1))
	fi
}

# kinds LOG OUTPUT: print the distinct kinds reported for LOG in OUTPUT.
kinds() {
	local line re='^[0-9]+: ([a-z-]+): '

	while IFS= read -r line; do
		if [[ ${line#"$1:"} =~ $re ]]; then
			echo "${BASH_REMATCH[1]}"
		fi
	done <<<"$2" | sort -u
}

for log in "$logs"/*.log; do
	name=$(basename "$log" .log)
	rc=0
	out=$("$scan" "$log") || rc=$?
	found=$(kinds "$log" "$out" | paste -sd' ')
	ok=0
	if [[ $name == clean ]]; then
		if [[ $rc == 0 && -z $out ]]; then
			ok=1
		fi
	elif [[ $name == clean-* ]]; then
		if [[ $rc == 0 && $found == expected ]]; then
			ok=1
		fi
	elif [[ $rc == 1 ]]; then
		for kind in $found; do
			if [[ $name == "$kind" || $name == "$kind"-* ]]; then
				ok=1
			fi
		done
	fi
	result "$name.log" "$ok" "exit status $rc, kinds found: ${found:-none}"
done

# expect_status NAME STATUS ARGS...: splat-scan.py ARGS must exit with STATUS.
expect_status() {
	local name=$1 want=$2 rc=0

	shift 2
	"$scan" "$@" >/dev/null 2>&1 || rc=$?
	result "$name" "$((rc == want))" "exit status $rc, expected $want"
}

expect_status "no arguments" 2
expect_status "missing log" 2 "$logs/missing.log"
expect_status "missing and dirty logs" 2 "$logs/missing.log" "$logs/kasan.log"
expect_status "clean and dirty logs" 1 "$logs/clean.log" "$logs/kasan.log"

# expect_lines NAME LINES: scanning stdin must exit 1 and print LINES lines.
expect_lines() {
	local out rc=0

	out=$("$scan" /dev/stdin) || rc=$?
	result "$1" "$((rc == 1 && $(wc -l <<<"$out") == $2))" \
		"exit status $rc, output:"$'\n'"$out"
}

splat="WARNING: CPU: 0 PID: 1 at lib/test.c:1 test+0x0/0x10"
expect_lines "console prefixes" 4 <<EOF
$splat
[    1.000000] $splat
    # $splat
[    1.000000]     # $splat
EOF
# At most 20 splats are shown, then their count.
expect_lines "output limit" 21 < <(for _ in {1..25}; do echo "$splat"; done)

# A declared warning does not hide an undeclared one next to it.
out=$("$scan" "$logs/warning-expected-and-unexpected.log") || true
result "expected and unexpected warnings" \
	"$(( $(grep -c ': expected: ' <<<"$out") == 1 && $(grep -c ': warning: ' <<<"$out") == 1 ))" \
	"output:"$'\n'"$out"

echo "$((total - failed))/$total passed"
[[ $failed == 0 ]]
