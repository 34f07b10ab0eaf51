#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Write the selftest guest's initramfs as an uncompressed newc cpio archive.

The archive holds /init, the test binaries in /tests, the mount points init
uses and /dev/console, all owned by root: no root privileges nor cpio tool
are needed to write it (see Documentation/driver-api/early-userspace/
buffer-format.rst). --file DEST=SRC adds SRC as /DEST (executable if SRC
is), e.g. the programs and modules a test in /tests uses.

Usage: mkinitramfs.py [--file DEST=SRC]... OUTPUT INIT [TEST...]
"""

import os
import stat
import sys


class Newc:
    def __init__(self, out):
        self.out = out
        self.ino = 0

    def entry(self, name, mode, data=b'', rdev=(0, 0)):
        self.ino += 1
        fields = (self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, *rdev,
                  len(name) + 1, 0)
        self.out.write(b'070701' + b''.join(b'%08X' % f for f in fields))
        self.out.write(name.encode() + b'\0')
        self.pad()
        self.out.write(data)
        self.pad()

    def pad(self):
        self.out.write(b'\0' * (-self.out.tell() % 4))


def main(argv):
    files, args = [], argv[1:]
    while len(args) >= 2 and args[0] == '--file' and '=' in args[1]:
        files.append(args[1].split('=', 1))
        args = args[2:]
    if len(args) < 2 or args[0].startswith('-'):
        print(__doc__, file=sys.stderr)
        return 2
    output, init, tests = args[0], args[1], args[2:]
    dirs = ['dev', 'proc', 'sys', 'tmp', 'tests']
    for dest, _ in files:
        parts = dest.strip('/').split('/')[:-1]
        for i in range(len(parts)):
            if '/'.join(parts[:i + 1]) not in dirs:
                dirs.append('/'.join(parts[:i + 1]))
    with open(output, 'wb') as out:
        cpio = Newc(out)
        for d in dirs:
            cpio.entry(d, stat.S_IFDIR | 0o755)
        cpio.entry('dev/console', stat.S_IFCHR | 0o600, rdev=(5, 1))
        for name, path in [('init', init)] + [
                ('tests/' + os.path.basename(t), t) for t in tests] + [
                (dest.strip('/'), src) for dest, src in files]:
            mode = 0o755 if name in ('init',) or name.startswith('tests/') \
                or os.access(path, os.X_OK) else 0o644
            with open(path, 'rb') as f:
                cpio.entry(name, stat.S_IFREG | mode, f.read())
        cpio.entry('TRAILER!!!', 0)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
