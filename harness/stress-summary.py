#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Print the table of a stress run (harness/stress.sh) from its console log.

vsvm_stress_test prints "# stress: ..." lines at the end of each variant
("RUN stress.VARIANT.mixed" before them): the operations done by kind with
their errors, the jobs, the bytes verified and lost, and each device's
counters. The table has one column per variant and one for the sum, then
the splats found in the log and the judge's verdict (JUDGE, selftests.py's
output). Exits 1 if a variant printed nothing, lost a byte or saw an IOMMU
fault or a stale IOVA.
"""

import os
import re
import subprocess
import sys

HARNESS = os.path.dirname(os.path.abspath(__file__))

RUN = re.compile(r'#\s+RUN\s+stress\.(\S+)\.mixed')
OP = re.compile(r'# stress: op (\S+)\s+(\d+)\s+errors (\d+) \(last (-?\d+)\)')
PAIRS = re.compile(r'(\w+) (-?\d+)')
DEVICE = re.compile(r'# stress: device (\d+): (.*)')
HEAD = re.compile(r'# stress: (\d+) device\(s\), (\d+) processes x (\d+) threads, (\d+) s')
END = re.compile(r'vsvm-guest: end vsvm_stress_test \S+ time=([\d.]+) s')


def main():
    log, judge = sys.argv[1], sys.argv[2]
    variants, rows, order, errors, elapsed = [], {}, [], {}, None
    current = None

    def put(key, value):
        if key not in rows:
            rows[key] = {}
            order.append(key)
        rows[key][current] = rows[key].get(current, 0) + value

    with open(log, errors='replace') as f:
        for line in f:
            line = line.rstrip('\r\n')
            m = RUN.search(line)
            if m:
                current = m.group(1)
                variants.append(current)
                continue
            m = END.search(line)
            if m:
                elapsed = float(m.group(1))
            if current is None or '# stress: ' not in line:
                continue
            line = line[line.index('# stress: '):]
            if (m := HEAD.match(line)):
                put('seconds', int(m.group(4)))
            elif (m := OP.match(line)):
                put(f'op {m.group(1)}', int(m.group(2)))
                if int(m.group(3)):
                    errors.setdefault(current, []).append(
                        f'{m.group(1)}: {m.group(3)} (last {m.group(4)})')
            elif (m := DEVICE.match(line)):
                for key, value in PAIRS.findall(m.group(2)):
                    put(key, int(value))
            else:
                for key, value in PAIRS.findall(line[len('# stress: '):]):
                    put(key, int(value))

    scan = subprocess.run([os.path.join(HARNESS, 'splat-scan.py'), log],
                          capture_output=True, text=True)
    splats = sum(1 for line in scan.stdout.splitlines()
                 if re.match(re.escape(log) + r':\d+: ', line))
    more = re.search(r'(\d+) splat lines', scan.stdout)
    splats = int(more.group(1)) if more else splats
    with open(judge) as f:
        verdict = f.read().strip().splitlines()

    print('# vsvm stress')
    print()
    print('| | ' + ' | '.join(variants) + ' | total |')
    print('|---|' + '---|' * (len(variants) + 1))
    for key in order:
        values = [rows[key].get(v, 0) for v in variants]
        print(f'| {key} | ' + ' | '.join(str(v) for v in values) + f' | {sum(values)} |')
    print('| kernel splat lines | ' + ' | '.join('' for _ in variants) + f' | {splats} |')
    print()
    if elapsed is not None:
        print(f'Test binary ran {elapsed:.0f} s (both variants, final checks included).')
    for variant, errs in errors.items():
        print(f'Errors that ended operations ({variant}): ' + '; '.join(errs))
    print('Judge: ' + (verdict[-1] if verdict else 'no verdict'))

    bad = not variants or any(rows.get(k, {}).get(v, 0)
                              for k in ('bytes_lost', 'iommu_faults', 'stale_iovas')
                              for v in variants)
    return 1 if bad or splats else 0


if __name__ == '__main__':
    sys.exit(main())
