#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Judge one selftest guest run from its console log.

The guest's /init (harness/guest/init.c) brackets each test binary's TAP
output with "vsvm-guest: begin NAME" and "vsvm-guest: end NAME ..." lines.
Counts the kselftest results ("ok", "ok ... # SKIP", "not ok") of each
binary, checks that the IOMMU translated the edu devices' DMA, that every
binary ran to its end with status 0 (or 4, KSFT_SKIP) or a failed test and
that the guest powered off, and scans the log for kernel splats. A binary
named with --no-skip must run every test: a skipped one counts as failed
(the configuration was built to run it). Prints each failure and
"selftests CONFIG: N passed, N failed, N skipped"; the counts also go to
COUNTS as "passed failed skipped".
Exits 1 on any failure.
"""

import argparse
import os
import re
import subprocess
import sys

HARNESS = os.path.dirname(os.path.abspath(__file__))

MARKER = re.compile(r'vsvm-guest: (.*)$')
END = re.compile(r'end (\S+) (exit|signal)=(-?\d+) time=([\d.]+) s$')
RESULT = re.compile(r'(ok|not ok) \d+ (.*)$')
PLAN = re.compile(r'1\.\.(\d+)(.*)$')
TOTALS = re.compile(r'# Totals: pass:(\d+) fail:(\d+) xfail:(\d+) xpass:(\d+) '
                    r'skip:(\d+) error:(\d+)')

# The guest runs behind an enabled, translating, strict IOMMU.
IOMMU = ('DMAR: IOMMU enabled',
         'DMAR: Intel(R) Virtualization Technology for Directed I/O',
         'iommu: Default domain type: Translated',
         'iommu: DMA domain TLB invalidation policy: strict mode')
EDU = re.compile(r'pci (\S+): \[1234:11e8\]')


class Binary:
    def __init__(self, name):
        self.name = name
        self.end = None          # "exit=N" or "signal=N", once ended
        self.plan = None
        self.skipped_all = False
        self.results = []        # ("passed"|"failed"|"skipped", test name)
        self.totals = None


def parse(lines):
    """Return the binaries in the order they began, and init's other lines."""
    binaries, notes, current = {}, [], None
    for line in lines:
        marker = MARKER.search(line)
        if marker:
            text = marker.group(1)
            end = END.match(text)
            if text.startswith('begin '):
                current = binaries.setdefault(text[6:], Binary(text[6:]))
            elif end and end.group(1) in binaries:
                binaries[end.group(1)].end = f'{end.group(2)}={end.group(3)}'
                current = None
            else:
                notes.append(text)
            continue
        if not current:
            continue
        result, plan, totals = RESULT.match(line), PLAN.match(line), TOTALS.match(line)
        if result:
            name, _, directive = result.group(2).partition(' # ')
            if result.group(1) == 'not ok':
                kind = 'failed'
            elif directive.strip().upper().startswith('SKIP'):
                kind = 'skipped'
            else:
                kind = 'passed'     # also XFAIL and XPASS, as kselftest does
            current.results.append((kind, name.strip()))
        elif plan and current.plan is None:
            current.plan = int(plan.group(1))
            current.skipped_all = current.plan == 0 and 'SKIP' in plan.group(2)
        elif totals:
            current.totals = [int(n) for n in totals.groups()]
    return list(binaries.values()), notes


def judge(binary, fail, no_skip=False):
    """Return @binary's counts; @fail(what, n) reports a problem as n failures.

    With @no_skip, each skipped test (or a binary that skipped all) counts as
    failed instead.
    """
    counts = {k: sum(1 for kind, _ in binary.results if kind == k)
              for k in ('passed', 'failed', 'skipped')}
    for kind, name in binary.results:
        if kind == 'failed':
            print(f'  not ok: {binary.name}: {name}')
    if binary.skipped_all:
        counts['skipped'] += 1
    missing = max((binary.plan or 0) - len(binary.results), 0)
    missing_text = f'; {missing} of its {binary.plan} tests reported nothing' if missing else ''
    counts['failed'] += missing
    if binary.totals:
        p, f, xf, xp, s, e = binary.totals
        if (p + xf + xp, f + e, s) != (counts['passed'], counts['failed'] - missing,
                                       counts['skipped'] - binary.skipped_all):
            fail(f'{binary.name}: its results do not add up to its "# Totals" line',
                 0 if counts['failed'] else 1)
    if binary.end is None:
        fail(f'{binary.name}: did not end (crashed or hung the guest){missing_text}',
             0 if counts['failed'] else 1)
    elif missing:
        fail(f'{binary.name}: ended with {binary.end}{missing_text}', 0)
    elif binary.end not in ('exit=0', 'exit=4') and not counts['failed']:
        # 4 is KSFT_SKIP.
        fail(f'{binary.name}: ended with {binary.end} without a failed test')
    if no_skip and counts['skipped']:
        fail(f'{binary.name}: {counts["skipped"]} skipped, but this configuration '
             'must run it', counts['skipped'])
        counts['skipped'] = 0
    return counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--config', required=True)
    ap.add_argument('--log', required=True)
    ap.add_argument('--counts', required=True)
    ap.add_argument('--qemu-status', type=int, default=0,
                    help="QEMU's exit status; 124 is a timeout")
    ap.add_argument('--timeout', type=int, default=0, help='seconds, for the message')
    ap.add_argument('--tests', nargs='*', default=[], help='binaries that must run')
    ap.add_argument('--no-skip', nargs='*', default=[],
                    help='binaries whose tests must not skip')
    ap.add_argument('--no-iommu', action='store_true',
                    help='platform devices with direct DMA: no IOMMU to check')
    args = ap.parse_args()

    counts = {'passed': 0, 'failed': 0, 'skipped': 0}
    problems = 0

    def fail(what, n=1):
        nonlocal problems
        print(f'selftests {args.config}: {what}')
        counts['failed'] += n
        problems += 1

    with open(args.log, errors='replace') as f:
        lines = [line.rstrip('\r\n').replace('\r', '') for line in f]
    text = '\n'.join(lines)

    missing = [needed for needed in IOMMU if needed not in text]
    edus = EDU.findall(text)
    isolated = [bdf for bdf in edus if f'pci {bdf}: Adding to iommu group' in text]
    if not args.no_iommu and (missing or not edus or len(isolated) < len(edus)):
        fail('the edu devices do not run behind a translating, strict IOMMU: ' +
             (f'no "{missing[0]}"' if missing else
              f'{len(isolated)} of {len(edus)} edu devices in an IOMMU group'))

    binaries, notes = parse(lines)
    for note in notes:
        if note.startswith('error: '):
            fail(f'init: {note[7:]}')
    for binary in binaries:
        for k, n in judge(binary, fail, binary.name in args.no_skip).items():
            counts[k] += n
    for name in args.tests:
        if name not in {b.name for b in binaries}:
            fail(f'{name}: did not run')
    if args.tests and '/dev/dri: none' in notes:
        fail('no /dev/dri node: no DRM device bound in the guest')

    # A binary that did not end already counts for an unfinished guest.
    unfinished = 0 if any(b.end is None for b in binaries) else 1
    if args.qemu_status == 124:
        running = [b.name for b in binaries if b.end is None]
        fail(f'timed out after {args.timeout} s' +
             (f' in {running[0]}' if running else ''), unfinished)
    elif args.qemu_status:
        fail(f'QEMU exited with status {args.qemu_status}', unfinished)
    elif not any(n.startswith('done, ') for n in notes):
        fail('the guest stopped before /init powered it off', unfinished)

    scan = subprocess.run([os.path.join(HARNESS, 'splat-scan.py'), args.log])
    if scan.returncode:
        fail('kernel splat in the console log')

    if problems and not counts['failed']:
        counts['failed'] = 1
    with open(args.counts, 'w') as f:
        f.write(f'{counts["passed"]} {counts["failed"]} {counts["skipped"]}\n')
    print(f'selftests {args.config}: {counts["passed"]} passed, '
          f'{counts["failed"]} failed, {counts["skipped"]} skipped')
    return 1 if problems or counts['failed'] else 0


if __name__ == '__main__':
    sys.exit(main())
