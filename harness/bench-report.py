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

Usage: bench-report.py --log LOG --out DIR [--loadavg "..."]
                       [--loadavg-after "..."] [--seconds N]
Exits 1 if the log holds no measurement or a row of the suite is missing.
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
EXPECTED_ROWS = (FAULT_ROWS + FIRST_ROWS +
                 ['refault_system', 'refault_device'] + LOOKUP_ROWS +
                 INVAL_ROWS + MIGRATE_ROWS)

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
            row = rows.setdefault(r['row'], {
                'row': r['row'], 'unit': r['unit'], 'n': r['n'],
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


def fig_table(row, figure_name=None):
    """Markdown lines: each library figure, its floor, the ratios."""
    lib = {m['what']: m for m in row['library']}
    floor = {m['what']: m for m in row['floor']}
    lines = []
    for r in row['ratios']:
        a, b = lib[r['library']], floor[r['floor']]
        if row['unit'] == 'ns/migration':
            ga, gb = gbps(a, row['pages']), gbps(b, row['pages'])
            lines.append(
                f'| {figure_name or row["row"]} | {r["library"]} | '
                f'{ga["ns_min"]:.3f} / {ga["ns_median"]:.3f} | {r["floor"]} | '
                f'{gb["ns_min"]:.3f} / {gb["ns_median"]:.3f} | '
                f'{fmt_ratio(r["min"])} / {fmt_ratio(r["median"])} | '
                f'{verdict(r)} |')
        else:
            per_page = ''
            if row['pages']:
                per_page = (f' ({fmt_ns(a["ns_min"] / row["pages"])}/4K page)')
            lines.append(
                f'| {figure_name or row["row"]} | {r["library"]} | '
                f'{fmt_ns(a["ns_min"])} / {fmt_ns(a["ns_median"])}{per_page} | '
                f'{r["floor"]} | {fmt_ns(b["ns_min"])} / '
                f'{fmt_ns(b["ns_median"])} | {fmt_ratio(r["min"])} / '
                f'{fmt_ratio(r["median"])} | {verdict(r)} |')
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
                               'floor_to_ram', 'memcpy')]),
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
                        marker='o', label=label,
                        linestyle='--' if ('floor' in what or
                                           what == 'memcpy') else '-')
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, which='both', alpha=0.3)
        ax.legend()
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
    missing = [r for r in EXPECTED_ROWS if r not in rows]
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
        'guest': 'QEMU x86_64 (TCG), 1 vCPU, 2 GiB; fast kernel (no debug '
                 'options); dma-direct test device',
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

    def section(title, names, header, note=None):
        present = [rows[n] for n in names if n in rows and rows[n]['floor']]
        if not present:
            return
        md.extend([f'## {title}', ''])
        if note:
            md.extend([note, ''])
        md.extend([header, '|' + '---|' * (header.count('|') - 1)])
        for row in present:
            md.extend(fig_table(row))
        md.append('')

    hdr = ('| row | library | library min / median | floor | '
           'floor min / median | ratio min / median | target |')
    section('GPU fault path, populated memory', FAULT_ROWS, hdr,
            'Per range: `drm_gpusvm_range_find_or_insert()` + '
            '`drm_gpusvm_range_get_pages()` over an 8 MiB buffer, then '
            '`drm_gpusvm_range_remove()` of every range (the notifier goes '
            'with the last). floor_range: per range `mmu_interval_read_begin()` '
            '+ `hmm_range_fault()` + `dma_map_page()` per entry (order-aware) '
            '+ `mmu_interval_read_retry()`, then unmap, with one interval '
            'notifier inserted and removed per round. floor_bulk: one '
            '`hmm_range_fault()` over the span.')
    section('GPU fault path, first touch', FIRST_ROWS, hdr,
            'The same over memory with no page present: each round starts '
            'with `MADV_DONTNEED` of the span (not timed), so that the '
            'library and its floors fault every page in (and zero it).')
    dma_info = {i['row']: i['value'] for i in info
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
            'same notifier.')
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
    mig_hdr = ('| row | library | library GB/s max / median | floor | '
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
            'up to 64 MiB, the size of the test VRAM of these rows.')

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
