#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Turn the "# bench:" lines of a gpusvm_bench run into the benchmark report.

Reads the KUnit console log, where the suite printed one JSON object per
measurement, and writes into OUT:

  results.json  every measurement, the ratios to their floors, the machine
  report.md     the tables, with each figure next to its floor and the ratio
  *.png         the scaling curves (Debian's python3-matplotlib)

Each library figure is reported against the floors of its row measured in
the same boot: the floor named "floor_<what>" if there is one, else every
floor of the row. A library figure without a floor is left out (and said so).

The rows that map pages for DMA (fault, re-fault, migration) come twice:
"dev": "direct" (a dma-direct test device) and "dev": "iommu" (the edu PCI
device behind the guest's IOMMU), reported side by side; the suite's
"dma_device" checks say what each device is, or why the IOMMU one is absent.

Usage: bench-report.py --log LOG --out DIR [--loadavg "..."]
                       [--loadavg-after "..."] [--seconds N]
Exits 1 if the log holds no measurement or a row of the suite is missing
(the IOMMU rows only if the suite found the IOMMU device).
"""

import argparse
import datetime
import json
import os
import platform
import re
import sys

BENCH_RE = re.compile(r'# bench: (\{.*\})\s*$')

# Rows the suite prints when every case ran.
FAULT_ROWS = ['fault_4k', 'fault_64k', 'fault_2m', 'fault_2m_thp']
FIRST_ROWS = [r + '_first' for r in FAULT_ROWS]
LOOKUP_N = [1, 1000, 100000, 1000000]
LOOKUP_ROWS = [f'lookup_{n}{m}' for n in LOOKUP_N for m in ('', '_mapped')]
INVAL_N = [1000, 100000, 1000000]
INVAL_ROWS = [f'invalidate_{n}' for n in INVAL_N]
MIGRATE_KB = [4, 64, 2048, 8192, 16384, 65536]
MIGRATE_ROWS = [f'migrate_{k}k' for k in MIGRATE_KB]
REFAULT_ROWS = ['refault_system', 'refault_device']
EXPECTED_ROWS = (FAULT_ROWS + FIRST_ROWS + REFAULT_ROWS + LOOKUP_ROWS +
                 INVAL_ROWS + MIGRATE_ROWS)
# The rows measured on both DMA devices.
DMA_ROWS = FAULT_ROWS + FIRST_ROWS + REFAULT_ROWS + MIGRATE_ROWS
DEV_LABEL = {'direct': 'dma-direct', 'iommu': 'behind the IOMMU'}

# Targets of issue 13: library / floor, per row family and figure.
TARGETS = {
    ('fault_4k', 'floor_range'): 1.5,
    ('fault_64k', 'floor_range'): 1.2,
    ('fault_2m', 'floor_range'): 1.10,
    ('fault_2m_thp', 'floor_range'): 1.10,
    ('fault_4k_first', 'floor_range'): 1.5,
    ('fault_64k_first', 'floor_range'): 1.2,
    ('fault_2m_first', 'floor_range'): 1.10,
    ('fault_2m_thp_first', 'floor_range'): 1.10,
    ('refault', 'floor_seq'): 1.5,
    ('lookup', 'floor_tree'): 1.5,
    ('invalidate', 'floor_n1'): 1.5,
    ('migrate', 'floor_to_vram'): 1.15,
    ('migrate', 'floor_to_ram'): 1.15,
}
RANGE_BYTES_TARGET = 256


def parse_log(path):
    records = []
    with open(path, errors='replace') as f:
        for line in f:
            m = BENCH_RE.search(line)
            if not m:
                continue
            try:
                records.append(json.loads(m.group(1)))
            except ValueError:
                print(f'bench-report: unparsable line: {line.strip()}')
    return records


def machine():
    model = ''
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        'cpu': model or platform.processor() or 'unknown',
        'nproc': os.cpu_count(),
        'host_kernel': platform.release(),
    }


def key(row, dev):
    """Where a row of a device is kept: its name, "@iommu" appended."""
    return row if dev == 'direct' else f'{row}@{dev}'


def target_for(row, floor):
    for key in ((row, floor), (row.split('_')[0], floor)):
        if key in TARGETS:
            return TARGETS[key]
    return None


def build_rows(records):
    """Group the measurements by row and pair each library figure with its
    floors."""
    rows = {}
    for r in records:
        if r.get('kind') in ('library', 'floor'):
            dev = r.get('dev', 'direct')
            row = rows.setdefault(key(r['row'], dev), {
                'row': r['row'], 'dev': dev, 'unit': r['unit'], 'n': r['n'],
                'pages': r['pages'], 'reps': r['reps'],
                'library': [], 'floor': [], 'ratios': []})
            row[r['kind']].append(r)
    for row in rows.values():
        floors = {f['what']: f for f in row['floor']}
        for lib in row['library']:
            own = floors.get('floor_' + lib['what'])
            pair = [own] if own else [f for f in row['floor']
                                      if f['what'] != 'memcpy']
            if own and 'memcpy' in floors:
                pair.append(floors['memcpy'])
            for floor in pair:
                ratio = {
                    'library': lib['what'], 'floor': floor['what'],
                    'min': lib['ns_min'] / floor['ns_min']
                    if floor['ns_min'] else None,
                    'median': lib['ns_median'] / floor['ns_median']
                    if floor['ns_median'] else None,
                }
                ratio['target'] = target_for(row['row'], floor['what'])
                if ratio['target'] is not None and ratio['median'] is not None:
                    ratio['meets_target'] = ratio['median'] <= ratio['target']
                row['ratios'].append(ratio)
    return rows


def fmt_ns(ns):
    if ns >= 1e6:
        return f'{ns / 1e6:.2f} ms'
    if ns >= 1e3:
        return f'{ns / 1e3:.2f} µs'
    return f'{ns:.1f} ns'


def fmt_ratio(r):
    return '—' if r is None else f'{r:.2f}×'


def gbps(m, pages):
    """GB/s of one migration, from the time of one unit."""
    return {k: (pages * 4096 / m[k] if m[k] else 0.0)
            for k in ('ns_min', 'ns_median')}


def verdict(ratio):
    if ratio.get('target') is None:
        return ''
    mark = '✓' if ratio.get('meets_target') else '✗'
    return f'{mark} ≤ {ratio["target"]:.2f}×'


def cells(row, r):
    """The cells of one library figure against one floor: library, floor,
    ratio, target."""
    a = next(m for m in row['library'] if m['what'] == r['library'])
    b = next(m for m in row['floor'] if m['what'] == r['floor'])
    if row['unit'] == 'ns/migration':
        ga, gb = gbps(a, row['pages']), gbps(b, row['pages'])
        fig_a = f'{ga["ns_min"]:.3f} / {ga["ns_median"]:.3f}'
        fig_b = f'{gb["ns_min"]:.3f} / {gb["ns_median"]:.3f}'
    else:
        fig_a = f'{fmt_ns(a["ns_min"])} / {fmt_ns(a["ns_median"])}'
        if row['pages']:
            fig_a += f' ({fmt_ns(a["ns_min"] / row["pages"])}/4K page)'
        fig_b = f'{fmt_ns(b["ns_min"])} / {fmt_ns(b["ns_median"])}'
    return [fig_a, fig_b, f'{fmt_ratio(r["min"])} / {fmt_ratio(r["median"])}',
            verdict(r)]


def twin_ratio(twin, r):
    """The ratio of @twin (the same row on the other device) matching @r."""
    if not twin:
        return None
    return next((t for t in twin['ratios'] if t['library'] == r['library']
                 and t['floor'] == r['floor']), None)


def fig_table(row, iommu=False, twin=None, absent=''):
    """Markdown lines: each library figure, its floor, the ratios; with
    iommu, the same row behind the IOMMU (@twin) beside them, or @absent in
    its place."""
    lines = []
    for r in row['ratios']:
        line = [row['row'], r['library'], r['floor']] + cells(row, r)
        if iommu:
            t = twin_ratio(twin, r)
            line += cells(twin, t) if t else [absent or 'missing', '—', '—',
                                              '']
        lines.append('| ' + ' | '.join(line) + ' |')
    return lines


def ratio_of(row, library, floor):
    if not row:
        return None
    return next((r for r in row['ratios'] if r['library'] == library
                 and r['floor'] == floor), None)


def summary_lines(rows, sizes, iommu_present, absent):
    """The targets of issue 13, each with its verdict per device (median
    ratios)."""
    lines = []
    table = []

    def dev_cells(names, library, floor, bulk, dev):
        """One cell and its verdict: the ratio of one row (bulk beside), or
        the range of the ratios of several rows and how many meet."""
        found = []
        for n in names:
            row = rows.get(key(n, dev))
            for r in (row['ratios'] if row else []):
                if ((library is None or r['library'] == library)
                        and r['floor'] == floor and r['median'] is not None):
                    found.append((n, r))
        if not found:
            return ['missing', '✗']
        meet = sum(1 for _, r in found if r.get('meets_target'))
        if len(found) == 1:
            n, r = found[0]
            cell = f'{fmt_ratio(r["median"])} (min {fmt_ratio(r["min"])}'
            b = ratio_of(rows.get(key(n, dev)), r['library'], bulk)
            if b and b['median'] is not None:
                cell += f'; bulk {fmt_ratio(b["median"])}'
            return [cell + ')', '✓' if meet else '✗']
        worst = max(found, key=lambda f: f[1]['median'])
        best = min(found, key=lambda f: f[1]['median'])
        cell = (f'{fmt_ratio(best[1]["median"])} – '
                f'{fmt_ratio(worst[1]["median"])} (worst: {worst[0]}'
                + (f' {worst[1]["library"]}' if library is None else '') + ')')
        mark = '✓' if meet == len(found) else '✗'
        return [cell, f'{mark} {meet}/{len(found)}']

    def target(what, names, library, floor, bulk=None, dma=True, label=None):
        goal = target_for(names[0], floor)
        line = [what, f'≤ {goal:.2f}×', label or ', '.join(names)]
        line += dev_cells(names, library, floor, bulk, 'direct')
        if not dma:
            line += ['— (maps no page for DMA)', '']
        elif iommu_present:
            line += dev_cells(names, library, floor, bulk, 'iommu')
        else:
            line += [absent, '']
        table.append('| ' + ' | '.join(line) + ' |')

    for kib, names in (('4K', ['fault_4k', 'fault_4k_first']),
                       ('64K', ['fault_64k', 'fault_64k_first']),
                       ('2M', ['fault_2m', 'fault_2m_thp', 'fault_2m_first',
                               'fault_2m_thp_first'])):
        for n in names:
            target(f'fault path at {kib}, per-range floor', [n], 'library',
                   'floor_range', 'floor_bulk')
    for n in REFAULT_ROWS:
        target('re-fault of a current range', [n], 'library', 'floor_seq')
    target('lookup, bare tree, every N', LOOKUP_ROWS, None, 'floor_tree',
           dma=False, label='lookup_1 … lookup_1000000 (+ _mapped)')
    target('invalidation at N = 10^6 vs N = 1', ['invalidate_1000000'],
           'invalidate', 'floor_n1', dma=False)
    target('migration to device memory', MIGRATE_ROWS, 'to_vram',
           'floor_to_vram', label='migrate_4k … migrate_65536k')
    target('migration back to RAM', MIGRATE_ROWS, 'to_ram', 'floor_to_ram',
           label='migrate_4k … migrate_65536k')
    rng = next((s for s in sizes if s['what'] == 'range'), None)
    dma = next((s for s in sizes if s['what'] == 'dma_array_4k'), None)
    if rng:
        ok = rng['alloc_bytes'] < RANGE_BYTES_TARGET
        extra = f' + {dma["bytes"]} B of DMA array per 4K page' if dma else ''
        table.append(f'| bytes per range plus its DMA array | '
                     f'< {RANGE_BYTES_TARGET} B | struct drm_gpusvm_range | '
                     f'{rng["alloc_bytes"]} B{extra} | '
                     f'{"✓" if ok else "✗"} | — | |')

    lines.extend(['## Targets of issue 13', '',
                  'Median ratio of each library figure to its floor, '
                  'measured in the same boot, with the ratio of the minima '
                  'beside it; ✓ when the median is within the target. '
                  'Several rows in one line: the range of their median '
                  'ratios and how many are within it. Under host load (the '
                  'load average above) the medians of the rows whose rounds '
                  'last a few milliseconds swing from run to run, up to a '
                  'factor of two seen here; the ratios of the minima much '
                  'less.', '',
                  '| target | bound | rows | dma-direct | | behind the '
                  'IOMMU | |', '|---|---|---|---|---|---|---|'] + table + [''])
    return lines


def plots(rows, out):
    """The scaling curves; each plot carries the floors of its figures."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    written = []

    def ns_of(row, what):
        for m in row['library'] + row['floor']:
            if m['what'] == what:
                return m['ns_median']
        return None

    def per_page(row, what):
        ns = ns_of(row, what)
        return ns / row['pages'] if ns is not None and row['pages'] else None

    def gb(row, what):
        ns = ns_of(row, what)
        return row['pages'] * 4096 / ns if ns else None

    def renamed(suffix, fn):
        """A curve of the rows named with @suffix, labelled apart."""
        def value(row, what):
            return fn(rows.get(row['row'] + suffix, {'library': [],
                                                     'floor': [],
                                                     'pages': 0}), what)
        return value

    lookup_xs = [(n, f'lookup_{n}') for n in LOOKUP_N]
    specs = [
        ('fault.png', 'GPU fault path, no THP: ns per 4K page (median)',
         'range size (KiB)', 'ns per 4K page',
         [(4, 'fault_4k'), (64, 'fault_64k'), (2048, 'fault_2m')],
         [(w, w, per_page) for w in ('library', 'floor_range', 'floor_bulk')]
         + [(w + ' (first touch)', w, renamed('_first', per_page))
            for w in ('library', 'floor_range')]
         + [(w + ' (IOMMU)', w, renamed('@iommu', per_page))
            for w in ('library', 'floor_range')]),
        ('lookup.png', 'Range lookup among N live ranges: ns per lookup (median)',
         'N ranges live', 'ns per lookup', lookup_xs,
         [(w, w, ns_of) for w in ('range_find', 'find_or_insert',
                                  'floor_tree')]
         + [('find_or_insert (mapped range)', 'find_or_insert',
             renamed('_mapped', ns_of))]),
        ('invalidate.png', 'Invalidation of one page among N ranges of a '
         'notifier: ns (median)', 'N ranges in the notifier',
         'ns per invalidation', [(n, f'invalidate_{n}') for n in INVAL_N],
         [(w, w, ns_of) for w in ('invalidate', 'floor_n1')]),
        ('migrate.png', 'Migration to test VRAM and back: GB/s (median)',
         'span (KiB)', 'GB/s',
         [(k, f'migrate_{k}k') for k in MIGRATE_KB],
         [(w, w, gb) for w in ('to_vram', 'floor_to_vram', 'to_ram',
                               'floor_to_ram', 'memcpy')]
         + [(w + ' (IOMMU)', w, renamed('@iommu', gb))
            for w in ('to_vram', 'floor_to_vram', 'to_ram',
                      'floor_to_ram')]),
    ]
    for name, title, xlabel, ylabel, xs, curves in specs:
        if not any(r in rows and rows[r]['floor'] for _, r in xs):
            continue
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for label, what, fn in curves:
            pts = [(x, fn(rows[r], what)) for x, r in xs
                   if r in rows and fn(rows[r], what) is not None]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts],
                        marker='s' if 'IOMMU' in label else 'o',
                        label=label,
                        linestyle='--' if ('floor' in what or
                                           what == 'memcpy') else '-')
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, which='both', alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(out, name), dpi=100)
        plt.close(fig)
        written.append(name)
    return written


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--log', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--loadavg', default='')
    ap.add_argument('--loadavg-after', default='')
    ap.add_argument('--seconds', type=int)
    args = ap.parse_args()

    records = parse_log(args.log)
    if not records:
        print('bench-report: no "# bench:" line in the log')
        return 1
    rows = build_rows(records)
    sizes = [r for r in records if r.get('kind') == 'size']
    info = [r for r in records if r.get('kind') == 'info']
    tput = [r for r in records if r.get('kind') == 'throughput']
    checks = [r for r in records if r.get('kind') == 'check']
    iommu_check = next((c for c in checks if c.get('dev') == 'iommu'), None)
    iommu_present = bool(iommu_check and iommu_check.get('present'))
    if iommu_present:
        absent = ''
    elif iommu_check:
        absent = f'absent: {iommu_check.get("why", "?")}'
    else:
        absent = 'absent: the suite did not look for it'
    expected = EXPECTED_ROWS + ([key(r, 'iommu') for r in DMA_ROWS]
                                if iommu_present else [])
    missing = [r for r in expected if r not in rows]
    no_floor = [f'{row["row"]}.{m["what"]}' for row in rows.values()
                for m in row['library'] if not row['floor']]

    now = datetime.datetime.now(datetime.timezone.utc)
    mach = machine()
    result = {
        'date': now.strftime('%Y-%m-%dT%H:%M:%SZ'),
        'machine': mach,
        'loadavg_before': args.loadavg,
        'loadavg_after': args.loadavg_after,
        'run_seconds': args.seconds,
        'guest': 'QEMU x86_64 (TCG), q35, 1 vCPU, 2 GiB; fast kernel (no '
                 'debug options); DMA devices: a dma-direct test device and '
                 'the edu PCI device behind an emulated Intel IOMMU (strict)',
        'dma_devices': checks,
        'iommu_column': {'present': iommu_present, 'why': absent},
        'rows': list(rows.values()),
        'sizes': sizes,
        'info': info,
        'throughput': tput,
        'missing_rows': missing,
        'without_floor': no_floor,
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, 'results.json'), 'w') as f:
        json.dump(result, f, indent=1)
        f.write('\n')

    pngs = plots(rows, args.out)
    summary = summary_lines(rows, sizes, iommu_present, absent)

    md = ['# drm_gpusvm benchmark', '',
          f'- date: {result["date"]}',
          f'- machine: {mach["cpu"]}, {mach["nproc"]} CPUs (nproc), host '
          f'kernel {mach["host_kernel"]}',
          f'- load average (/proc/loadavg) before the run: '
          f'{args.loadavg or "unknown"}; after: '
          f'{args.loadavg_after or "unknown"}',
          f'- guest: {result["guest"]}',
          f'- run: {args.seconds} s' if args.seconds is not None else '- run: ?',
          '',
          'Every figure is measured in the same boot as its floor, rounds '
          'interleaved, 1 warm-up + '
          f'{next(iter(rows.values()))["reps"]} repetitions; '
          'min / median. Ratio: library / floor (min / median). '
          'Absolute times are under software emulation (TCG): compare the '
          'ratios, not the nanoseconds, with hardware.', '']
    md.extend(['## DMA devices', '',
               'The rows that map pages for DMA (fault, re-fault, migration) '
               'run on two devices in the same boot, their floors mapping '
               'through the same device as the library: a dma-direct test '
               'device, and QEMU\'s edu PCI device (bound by the reference '
               'driver) behind the emulated Intel IOMMU, in a strict DMA '
               'domain (an IOTLB flush per unmap). Checked by mapping a page '
               'on each:', '',
               '| device | name | driver | IOMMU domain | DMA address is '
               'the physical one | IOMMU translates it back |',
               '|---|---|---|---|---|---|'])
    for c in checks:
        if c.get('present'):
            md.append(f'| {DEV_LABEL.get(c["dev"], c["dev"])} | '
                      f'{c["device"]} | {c["driver"]} | {c["iommu_domain"]} | '
                      f'{"yes" if c["dma_is_phys"] else "no"} | '
                      f'{"yes" if c["iommu_translates"] else "no"} |')
        else:
            md.append(f'| {DEV_LABEL.get(c["dev"], c["dev"])} | '
                      f'{c.get("why", "absent")} | | | | |')
    if not iommu_check:
        md.append(f'| {DEV_LABEL["iommu"]} | {absent} | | | | |')
    md.append('')
    md.extend(summary)

    def section(title, names, header, note=None, iommu=False):
        present = [rows[n] for n in names if n in rows and rows[n]['floor']]
        if not present:
            return
        md.extend([f'## {title}', ''])
        if note:
            md.extend([note, ''])
        if iommu:
            header += ''.join(f' IOMMU: {c} |' for c in
                              header.split(' | ')[3:-1] + ['target'])
        md.extend([header, '|' + '---|' * (header.count('|') - 1)])
        for row in present:
            md.extend(fig_table(row, iommu, rows.get(key(row['row'],
                                                         'iommu')), absent))
        md.append('')

    hdr = ('| row | library | floor | library min / median | '
           'floor min / median | ratio min / median | target |')
    section('GPU fault path, populated memory', FAULT_ROWS, hdr,
            'Per range: `drm_gpusvm_range_find_or_insert()` + '
            '`drm_gpusvm_range_get_pages()` over an 8 MiB buffer, then '
            '`drm_gpusvm_range_remove()` of every range (the notifier goes '
            'with the last). floor_range: per range `mmu_interval_read_begin()` '
            '+ `hmm_range_fault()` + `dma_map_page()` per entry (order-aware) '
            '+ `mmu_interval_read_retry()`, then unmap, with one interval '
            'notifier inserted and removed per round. floor_bulk: one '
            '`hmm_range_fault()` over the span. IOMMU: the same, the pages '
            'mapped for the edu PCI device.', iommu=True)
    section('GPU fault path, first touch', FIRST_ROWS, hdr,
            'The same over memory with no page present: each round starts '
            'with `MADV_DONTNEED` of the span (not timed), so that the '
            'library and its floors fault every page in (and zero it).',
            iommu=True)
    dma_info = {key(i['row'], i.get('dev', 'direct')): i['value'] for i in info
                if i.get('what') == 'dma_entries'}
    if dma_info:
        md.extend(['DMA entries the floor mapped per round (THP shows as one '
                   'per 2 MiB): ' + ', '.join(f'{k} {v}'
                                              for k, v in dma_info.items()),
                   ''])
    section('Re-fault of a current range',
            ['refault_system', 'refault_device'], hdr,
            '`drm_gpusvm_range_get_pages()` on 512 ranges of 4K whose pages '
            'are mapped and current (system pages; device pages of the test '
            'VRAM, the span migrated there first), against '
            '`mmu_interval_read_begin()` + `mmu_interval_read_retry()` on the '
            'same notifier. Nothing is mapped while timed: the IOMMU column '
            'shows that a current range costs the same on either device.',
            iommu=True)
    section('Range lookup', LOOKUP_ROWS, hdr,
            '1024 lookups per round spread over N live 4K ranges (512 MiB '
            'notifiers): `drm_gpusvm_notifier_find()` + '
            '`drm_gpusvm_range_find()` (range_find) and '
            '`drm_gpusvm_range_find_or_insert()` hits, against two '
            '`interval_tree_iter_first()` walks over bare trees of the same '
            'notifier windows and range nodes. lookup_N: ranges that hold no '
            'pages; lookup_N_mapped: the same once the ranges looked up hold '
            'a current (read-only, zero page) mapping, as on a re-fault.')
    section('Invalidation', INVAL_ROWS, hdr,
            'One 4K page of a range invalidated (`MADV_DONTNEED`, timed '
            'alone) in a notifier holding N 4K ranges, against the same in '
            'a notifier holding one (floor_n1), 64 per round. Each '
            'invalidation finds a mapped range (mapped again before it, not '
            'timed): the callback walks the notifier\'s ranges and unmaps '
            'it.')
    if tput:
        md.extend(['## GPU-fault throughput', '',
                   'One kthread runs the test driver\'s whole fault handler '
                   '(garbage collection, find_or_insert, get_pages, GPU PTE '
                   'commit under the notifier lock) on every 4K page of a '
                   'populated 8 MiB span, then removes the ranges; no floor '
                   'applies.', '',
                   '| row | faults per round | faults/s max / median |',
                   '|---|---|---|'])
        for t in tput:
            md.append(f'| {t["row"]} ({t["what"]}) | {t["faults"]} | '
                      f'{t["faults_per_s_max"]:,} / '
                      f'{t["faults_per_s_median"]:,} |')
        md.append('')
    mig_hdr = ('| row | library | floor | library GB/s max / median | '
               'floor GB/s max / median | time ratio min / median | target |')
    section('Migration to device memory and back', MIGRATE_ROWS, mig_hdr,
            'Library: `drm_pagemap_migrate_to_devmem()` into the test VRAM '
            '(its allocator gives each device page a fresh system page for '
            'its data) and `drm_pagemap_evict_to_ram()`. Floor: '
            '`migrate_vma_setup/pages/finalize()` into a device-private '
            'pagemap of its own, with a fresh data page, a DMA map and a '
            'plain copy per page, and back with `migrate_device_range()`, '
            '`migrate_device_pages/finalize()`. memcpy: `copy_highpage()` of '
            'as many pages between two sets of kernel pages, the bandwidth '
            'floor of any migration. No THP (4K device pages on 6.12). Spans '
            'up to 64 MiB, the size of the test VRAM of these rows. IOMMU: '
            'the same with the test VRAM and the floors mapping system pages '
            'for the edu PCI device (the copy reaches them through the '
            'IOMMU\'s translation).', iommu=True)

    if sizes:
        md.extend(['## Memory', '',
                   'Sizes, no floor applies (the issue asks for the bytes '
                   'only). dma_array_*: the DMA address array of one range '
                   '(one entry per page is allocated).', '',
                   '| object | sizeof | allocated (kmalloc bucket) |',
                   '|---|---|---|'])
        for s in sizes:
            md.append(f'| {s["what"]} | {s["bytes"]} | {s["alloc_bytes"]} |')
        rng = next((s for s in sizes if s['what'] == 'range'), None)
        if rng:
            ok = rng['alloc_bytes'] < RANGE_BYTES_TARGET
            md.extend(['', f'Target under {RANGE_BYTES_TARGET} bytes per '
                       f'range plus its DMA array: '
                       f'{"✓" if ok else "✗"} {rng["alloc_bytes"]} bytes '
                       f'(struct drm_gpusvm_range).'])
        md.append('')

    if pngs:
        md.extend(['## Plots', ''] +
                  [f'![{p}]({p})' for p in pngs] + [''])
    if missing or no_floor:
        md.extend(['## Not measured', ''])
        if missing:
            md.append('Rows missing from this run: ' + ', '.join(missing))
        if no_floor:
            md.append('Left out, no floor: ' + ', '.join(no_floor))
        md.append('')

    with open(os.path.join(args.out, 'report.md'), 'w') as f:
        f.write('\n'.join(md))
    print(f'bench: {sum(len(r["library"]) for r in rows.values())} figures '
          f'with their floors in {len(rows)} rows; out/bench/report.md, '
          f'results.json, {len(pngs)} plots')
    if missing:
        print('bench: rows missing: ' + ', '.join(missing))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
