#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Check the rendered GPU SVM page: every section a driver author needs, the
example code quoted from the reference driver, and the kernel-doc pulled in.

Usage: docs-check.py GPUSVM_HTML
"""

import html
import re
import sys

# Section titles, as rendered.
SECTIONS = [
    'Overview', 'Locking', 'Driver fault handler', 'Error codes of the fault loop',
    'Device memory and migration', 'Eviction', 'The timeslice',
    'Partial unmap and the garbage collector',
    'Several GPU VMs and devices on one mm', 'Owner groups',
    'Linux 6.12 specifics', 'The reference driver', 'Testing',
    'Functions and structures',
]

# Text that must be on the page: DOC sections, the quoted driver code, and
# the kernel-doc of both headers and of the exported functions.
TEXT = [
    'Locks are taken in this order',            # DOC: Locking
    'int driver_svm_handle_fault',              # DOC: Driver fault handler
    'Device memory is tracked physically',      # DOC: Migration
    'int vsvm_gpu_fault(struct vsvm_vm *vm',    # the quoted fault handler
    'static void vsvm_invalidate(struct drm_gpusvm *gpusvm',
    'static void vsvm_garbage_collect(struct vsvm_vm *vm)',
    'static const struct drm_pagemap_devmem_ops vsvm_devmem_ops',
    'struct drm_gpusvm_ops',                    # drm_gpusvm.h
    'struct drm_pagemap_devmem_ops',            # drm_pagemap.h
    'struct drm_pagemap_owner_list',            # drm_pagemap_util.h
    'drm_gpusvm_range_find_or_insert',          # drm_gpusvm.c
    'drm_pagemap_migrate_to_devmem',            # drm_pagemap.c
    'drm_pagemap_acquire_owner',                # drm_pagemap_util.c
]


def main(path):
    with open(path, encoding='utf-8') as f:
        page = f.read()
    headings = {html.unescape(re.sub(r'<[^>]+>', '', h)).replace('\u00b6', '').strip()
                for h in re.findall(r'<h[1-4][^>]*>(.*?)</h[1-4]>', page, re.S)}
    text = html.unescape(re.sub(r'<[^>]+>', '', page))
    missing = [f'section "{s}"' for s in SECTIONS if s not in headings]
    missing += [f'text "{t}"' for t in TEXT if t not in text]
    for m in missing:
        print(f'docs: {path}: no {m}')
    print(f'docs: gpusvm.html: {len(SECTIONS)} sections, {len(TEXT)} texts checked, '
          f'{len(missing)} missing')
    return 1 if missing else 0


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
