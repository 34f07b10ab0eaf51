#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Scan kernel console logs (e.g. from kunit.py under QEMU) for splats.

Every splat line is printed as "LOG:LINENO: KIND: LINE".  The exit status is
1 if any log has a splat, 0 if all logs are clean and 2 on usage or I/O errors.
"""

import argparse
import re
import sys

# One pattern per kind of splat, matched at the start of the message, i.e.
# after the printk timestamp and KUnit's "# " prefix.  Each pattern anchors on
# the header line of the report, so that the informational lines the same
# debug features print at boot ("kasan: ...", "DMA-API: preallocated ...",
# "ODEBUG: selftest passed", ...) do not match.  The first matching kind
# wins: the specific kinds come before the generic "bug" and "warning".
SPLATS = [(kind, re.compile(pattern)) for kind, pattern in (
    # KASAN report, or its decoding of a general protection fault address
    ("kasan", r"(BUG: )?KASAN: "),
    # UBSAN report: "UBSAN: shift-out-of-bounds in file.c:LINE:COL"
    ("ubsan", r"UBSAN: "),
    # DMA-API debug: "DMA-API: DRIVER DEVICE: ...", formerly "DRIVER DEVICE: DMA-API: ..."
    ("dma-api", r"DMA-API: \S* \S+: |\S+ \S+: DMA-API: "),
    # lockdep (and RCU-lockdep) report headers
    ("lockdep", r"WARNING: (possible (circular|recursive) locking|inconsistent lock state"
                r"|suspicious RCU usage|possible irq lock inversion"
                r"|lock held when returning to user space|bad unlock balance|held lock freed)"
                r"|INFO: trying to register non-static key"),
    # might_sleep() in atomic context
    ("atomic-sleep", r"BUG: sleeping function called from invalid context"),
    # khungtaskd: "INFO: task COMM:PID blocked for more than N seconds."
    ("hung-task", r"INFO: task .+ blocked for more than \d+ seconds"),
    # RCU CPU stall, self-detected or detected by another CPU
    ("rcu-stall", r"rcu: INFO: \S+ (self-)?detected (expedited )?stalls? on CPU"),
    # soft lockup watchdog
    ("soft-lockup", r"watchdog: BUG: soft lockup"),
    # hard lockup watchdog, formerly "NMI watchdog: ..."
    ("hard-lockup", r"(NMI )?watchdog: (CPU\d+: )?Watchdog detected hard LOCKUP"),
    # panic()
    ("panic", r"Kernel panic - not syncing"),
    # CONFIG_DEBUG_LIST
    ("list-corruption", r"list_(add|del) corruption"),
    # CONFIG_DEBUG_OBJECTS: "ODEBUG: free active (active state 0) object: ... object type: ..."
    ("debugobjects", r"ODEBUG: .* object type: "),
    # refcount_t saturation, underflow, ...
    ("refcount", r"refcount_t: "),
    # die(): "Oops: ...", formerly also a bare "general protection fault..."
    ("oops", r"Oops: |general protection fault\b"),
    # BUG(), page faults and other "BUG: " reports not listed above
    ("bug", r"kernel BUG at |BUG: "),
    # WARN() and the other "WARNING: " reports not listed above
    ("warning", r"WARNING: "),
)]

# Console prefix: optional printk timestamp, then KTAP indentation and "# ".
PREFIX = re.compile(r"(\[\s*\d+\.\d+\])?\s*(# )?")

MAX_SHOWN = 20


def scan(path):
    """Print the splat lines of the log at @path and return their number."""
    found = 0
    with open(path, "rb") as log:
        for lineno, raw in enumerate(log, 1):
            line = raw.decode(errors="replace").rstrip()
            msg = line[PREFIX.match(line).end():]
            kind = next((k for k, regex in SPLATS if regex.match(msg)), None)
            if kind:
                found += 1
                if found <= MAX_SHOWN:
                    print(f"{path}:{lineno}: {kind}: {line}")
    if found > MAX_SHOWN:
        print(f"{path}: {found} splat lines, {found - MAX_SHOWN} not shown")
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("logs", nargs="+", metavar="LOG")
    status = 0
    for path in parser.parse_args().logs:
        try:
            if scan(path):
                status = max(status, 1)
        except OSError as err:
            print(f"{parser.prog}: {err}", file=sys.stderr)
            status = 2
    return status


if __name__ == "__main__":
    sys.exit(main())
