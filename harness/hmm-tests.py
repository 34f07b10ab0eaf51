#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Judge one hmm-tests guest run (hmm-tests.sh) from its console log.

The guest ran tools/testing/selftests/mm/hmm-tests once per module,
bracketed by "vsvm-guest: begin hmm-tests@MODULE" and "end ..." lines
(harness/guest/hmm-run.c): the first module is the baseline (test_hmm), the
second ours. Compares them case by case. A case counts only if the baseline
really ran it: passed, and, for the cases that return early without a word
when they get no huge page, only if both runs had one ("compound": a
hugetlbfs page free when the run began; "anon_write_huge": a THP faulted in
during the run). For each such case ours must pass (a pass; else a
failure); every other case is a skip. Both runs must end,
each module must load and unload, and the log must have no kernel splat.

Writes the table (case, baseline, ours, seconds of each) to TABLE, "passed
failed skipped" to COUNTS, and prints "hmm-tests CONFIG: N passed, N failed,
N skipped". Exits 1 on any failure.
"""

import argparse
import os
import re
import subprocess
import sys

HARNESS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HARNESS)
selftests = __import__('selftests')

TIME = re.compile(r'time (\S+) ([\d.]+) s$')
HUGEPAGES = re.compile(r'hugepages: (\d+)$')
FREE = re.compile(r'(\S+) hugepages free (-?\d+)$')
THP = re.compile(r'(\S+) thp_fault_alloc \+(-?\d+)$')
# Cases that pass without doing anything when they get no huge page: what
# each needs of every run, as (regex of the note, module group, count group).
NEEDS = {'.compound': FREE, '.anon_write_huge': THP}


def times_of(lines, module):
    """Map each case of @module's run to its time in seconds."""
    times, inside = {}, False
    for line in lines:
        marker = selftests.MARKER.search(line)
        if not marker:
            continue
        text = marker.group(1)
        if text == f'begin hmm-tests@{module}':
            inside = True
        elif text.startswith(f'end hmm-tests@{module} '):
            inside = False
        elif inside and TIME.match(text):
            name, seconds = TIME.match(text).groups()
            times[name] = float(seconds)
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--config', required=True)
    ap.add_argument('--log', required=True)
    ap.add_argument('--counts', required=True)
    ap.add_argument('--table', required=True)
    ap.add_argument('--qemu-status', type=int, default=0)
    ap.add_argument('--timeout', type=int, default=0)
    ap.add_argument('--modules', nargs=2, required=True,
                    help='the baseline module and ours (file names)')
    args = ap.parse_args()

    counts = {'passed': 0, 'failed': 0, 'skipped': 0}
    problems = 0

    def fail(what, n=1):
        nonlocal problems
        print(f'hmm-tests {args.config}: {what}')
        counts['failed'] += n
        problems += 1

    with open(args.log, errors='replace') as f:
        lines = [line.rstrip('\r\n').replace('\r', '') for line in f]

    names = [os.path.splitext(m)[0] for m in args.modules]
    base_name, ours_name = (f'hmm-tests@{n}' for n in names)
    binaries, notes = selftests.parse(lines)
    runs = {b.name: b for b in binaries}
    hugepages = 0
    for note in notes:
        if note.startswith('error: '):
            fail(f'guest: {note[7:]}')
        if HUGEPAGES.match(note):
            hugepages = int(HUGEPAGES.match(note).group(1))

    def had_huge_page(case):
        """Whether every run had what @case needs to do anything."""
        need = next((r for end, r in NEEDS.items() if case.endswith(end)), None)
        if not need:
            return True
        got = {m.group(1): int(m.group(2)) for m in map(need.match, notes) if m}
        return all(got.get(name, 0) > 0 for name in names)
    for name in names:
        if f'unloaded {name}' not in notes:
            fail(f'{name} was not unloaded')

    results = {}
    for run in (base_name, ours_name):
        if run not in runs:
            fail(f'{run}: did not run')
            results[run] = {}
            continue
        # Crashes, hangs and unfinished plans; the counts are compared below.
        selftests.judge(runs[run], fail)
        results[run] = dict((name, kind) for kind, name in runs[run].results)
    base, ours = results[base_name], results[ours_name]
    times = {run: times_of(lines, run.split('@')[1]) for run in (base_name, ours_name)}

    rows = []
    for case in list(base) + [c for c in ours if c not in base]:
        b, o = base.get(case, 'missing'), ours.get(case, 'missing')
        ran = b == 'passed' and had_huge_page(case)
        if case not in base:
            fail(f'{case}: only in our run')
        elif ran and o == 'passed':
            counts['passed'] += 1
        elif ran:
            fail(f'{case}: passes on the baseline, {o} on ours')
        else:
            if b == 'failed':
                print(f'hmm-tests {args.config}: note: {case} fails on the baseline '
                      f'({o} on ours); not counted')
            counts['skipped'] += 1
        rows.append((case, b if ran or b != 'passed' else 'passed (ran nothing)', o,
                     times[base_name].get(case), times[ours_name].get(case)))

    running = [r for r in (base_name, ours_name) if r in runs and runs[r].end is None]
    if args.qemu_status == 124:
        fail(f'timed out after {args.timeout} s' + (f' in {running[0]}' if running else ''),
             0 if running else 1)
    elif args.qemu_status:
        fail(f'QEMU exited with status {args.qemu_status}', 0 if running else 1)
    elif not any(n.startswith('done, ') for n in notes):
        fail('the guest stopped before /init powered it off', 0 if running else 1)

    scan = subprocess.run([os.path.join(HARNESS, 'splat-scan.py'), args.log])
    if scan.returncode:
        fail('kernel splat in the console log')

    def secs(t):
        return '' if t is None else f'{t:.1f}'

    with open(args.table, 'w') as f:
        f.write(f'# hmm-tests, {args.config} configuration\n\n'
                f'Huge pages reserved: {hugepages}. Baseline: {args.modules[0]}; '
                f'ours: {args.modules[1]}. Seconds under TCG, per case '
                f'(kselftest gives each case 30 s).\n\n'
                '| case | baseline | ours | baseline s | ours s |\n'
                '|---|---|---|---|---|\n')
        for case, b, o, tb, to in rows:
            f.write(f'| {case} | {b} | {o} | {secs(tb)} | {secs(to)} |\n')

    if problems and not counts['failed']:
        counts['failed'] = 1
    with open(args.counts, 'w') as f:
        f.write(f'{counts["passed"]} {counts["failed"]} {counts["skipped"]}\n')
    slowest = sorted(((t, c) for c, t in times[ours_name].items()), reverse=True)[:3]
    if slowest:
        print(f'hmm-tests {args.config}: slowest cases on ours: ' +
              ', '.join(f'{c} {t:.1f} s' for t, c in slowest))
    print(f'hmm-tests {args.config}: {counts["passed"]} passed, '
          f'{counts["failed"]} failed, {counts["skipped"]} skipped')
    return 1 if problems or counts['failed'] else 0


if __name__ == '__main__':
    sys.exit(main())
