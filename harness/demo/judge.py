#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Print the table of the demo guest's run and judge it from its console log.

The demo (harness/demo/vsvm_demo.c) writes its table between the lines
"vsvm-demo: table begin" and "vsvm-demo: table end", each table line
prefixed with "vsvm-demo| ", and a "vsvm-demo: check held|FAILED: ..." line
per check; the guest's /init (harness/guest/init.c) brackets it with
"vsvm-guest: begin vsvm_demo" and "vsvm-guest: end vsvm_demo ...". Prints
the table without the prefix and without the kernel messages around or
between its lines, then the checks of the run itself: the demo ran to its
end, the guest shut down, the kernel logged no splat (splat-scan.py). The
last line is "demo: N of M checks held", after the failed checks if any.
Exits 1 unless every check held.
"""

import argparse
import os
import re
import subprocess
import sys

HARNESS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Searched, not matched: a kernel message may have begun the console line.
TABLE = re.compile(r'vsvm-demo\| ?(.*)$')
DEMO = re.compile(r'vsvm-demo: (.*)$')
GUEST = re.compile(r'vsvm-guest: (.*)$')
CHECK = re.compile(r'check (held|FAILED): (.*)$')
COUNT = re.compile(r'(\d+) of (\d+) checks held$')
END = re.compile(r'end vsvm_demo (exit|signal)=(-?\d+) ')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--log', required=True)
    ap.add_argument('--qemu-status', type=int, default=0,
                    help="QEMU's exit status; 124 is a timeout")
    ap.add_argument('--timeout', type=int, default=0, help='seconds, for the message')
    args = ap.parse_args()

    with open(args.log, errors='replace') as f:
        lines = [line.rstrip('\r\n').replace('\r', '') for line in f]

    table, in_table, table_ended = [], False, False
    held, failed, count, end, guest_errors, done = 0, [], None, None, [], False
    for line in lines:
        row, demo, guest = TABLE.search(line), DEMO.search(line), GUEST.search(line)
        if row:
            if in_table:
                table.append(row.group(1))
        elif demo:
            text = demo.group(1)
            check, counted = CHECK.match(text), COUNT.match(text)
            if text == 'table begin':
                in_table = True
            elif text == 'table end':
                in_table, table_ended = False, True
            elif check and check.group(1) == 'held':
                held += 1
            elif check:
                failed.append(check.group(2))
            elif counted:
                count = (int(counted.group(1)), int(counted.group(2)))
        elif guest:
            text = guest.group(1)
            ended = END.match(text)
            if ended:
                end = f'{ended.group(1)}={ended.group(2)}'
            elif text.startswith('error: '):
                guest_errors.append(text[7:])
            elif text.startswith('done, '):
                done = True

    for row in table:
        print(row)
    if table:
        print()

    # The run's own checks: (what held, or why it did not).
    run = []
    if count is None or count != (held, held + len(failed)) or not table_ended:
        why = ('the demo did not finish its table' if count is None or not table_ended
               else f'the demo counted {count[0]} of {count[1]} checks held, '
                    f'its check lines {held} of {held + len(failed)}')
        run.append((False, why + (f' (it ended with {end})' if end else '')))
    else:
        run.append((True, 'the demo ran to its end'))
    if args.qemu_status == 124:
        run.append((False, f'the guest timed out after {args.timeout} s'))
    elif args.qemu_status:
        run.append((False, f'QEMU exited with status {args.qemu_status}'))
    elif not done or guest_errors:
        run.append((False, 'the guest did not shut down cleanly' +
                    (f': {guest_errors[0]}' if guest_errors else '')))
    else:
        run.append((True, 'the guest shut down'))
    scan = subprocess.run([os.path.join(HARNESS, 'splat-scan.py'), args.log],
                          stdout=subprocess.PIPE, text=True)
    if scan.returncode:
        print(scan.stdout, end='')
        run.append((False, 'the kernel logged a splat'))
    else:
        run.append((True, 'no kernel splat'))

    print('   '.join(('✓ ' if ok else 'FAILED: ') + what for ok, what in run))
    for what in failed:
        print(f'demo: FAILED: step {what}')
    for ok, what in run:
        if not ok:
            print(f'demo: FAILED: {what}')
    total_held = held + sum(ok for ok, _ in run)
    total = held + len(failed) + len(run)
    print(f'demo: {total_held} of {total} checks held')
    return 0 if total_held == total else 1


if __name__ == '__main__':
    sys.exit(main())
