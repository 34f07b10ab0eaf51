#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Judge one KUnit run from its raw console log.

Parses the log with kunit.py, checks that every suite of ours ran, scans the
log for kernel splats and prints "CONFIG: N passed, N failed, N skipped".
The counts also go to <json>.counts for the summary over configurations.
Exits 1 on a failed, crashed or missing test, a timeout or a splat.
"""

import argparse
import fnmatch
import glob
import json
import os
import re
import subprocess
import sys

HARNESS = os.path.dirname(os.path.abspath(__file__))
SUITE_RE = re.compile(r'\.name\s*=\s*"(drm_gpusvm[^"]*)"')


def expected_suites(repo, only):
    """Suite names defined by our test sources (filtered by --only)."""
    names = set()
    for src in glob.glob(os.path.join(repo, 'drivers/gpu/drm/tests/*.c')):
        with open(src) as f:
            names.update(SUITE_RE.findall(f.read()))
    if only:
        suite_glob = only.split('.', 1)[0]
        names = {n for n in names if fnmatch.fnmatch(n, suite_glob)}
    return names


def count(group, counts, suites):
    for case in group.get('test_cases', []):
        status = case['status']
        key = {'PASS': 'passed', 'SKIP': 'skipped'}.get(status, 'failed')
        counts[key] += 1
        if key == 'failed':
            print(f'  {status}: {group["name"]}.{case["name"]}')
    for sub in group.get('sub_groups', []):
        suites.add(sub['name'])
        count(sub, counts, suites)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--config', required=True)
    ap.add_argument('--log', required=True)
    ap.add_argument('--json', required=True)
    ap.add_argument('--tree', required=True)
    ap.add_argument('--suites', required=True, help='repository root')
    ap.add_argument('--only', help='suite glob that was run')
    args = ap.parse_args()

    ok = True
    parse = subprocess.run(
        [sys.executable, 'tools/testing/kunit/kunit.py', 'parse',
         '--json=' + os.path.abspath(args.json), os.path.abspath(args.log)],
        cwd=args.tree, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    print(parse.stdout, end='')
    if parse.returncode:
        ok = False

    counts = {'passed': 0, 'failed': 0, 'skipped': 0}
    suites = set()
    try:
        with open(args.json) as f:
            count(json.load(f), counts, suites)
    except (OSError, ValueError):
        print(f'{args.config}: no parsable KUnit results')
        ok = False

    with open(args.log, errors='replace') as f:
        text = f.read()
    if re.search(r'timed out after \d+ seconds', text):
        print(f'{args.config}: the run timed out')
        ok = False

    for name in sorted(expected_suites(args.suites, args.only) - suites):
        print(f'{args.config}: suite {name} did not run')
        counts['failed'] += 1
        ok = False
    if not suites:
        print(f'{args.config}: no suite ran')
        ok = False

    scan = subprocess.run([os.path.join(HARNESS, 'splat-scan.py'), args.log])
    if scan.returncode:
        print(f'{args.config}: kernel splat in the console log')
        ok = False

    if not ok and not counts['failed']:
        counts['failed'] = 1
    with open(args.json + '.counts', 'w') as f:
        f.write(f'{counts["passed"]} {counts["failed"]} {counts["skipped"]}\n')
    print(f'{args.config}: {counts["passed"]} passed, {counts["failed"]} failed, '
          f'{counts["skipped"]} skipped')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
