#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Scan kernel console logs (e.g. from kunit.py under QEMU) for splats.

Every splat line is printed as "LOG:LINENO: KIND: LINE".  The exit status is
1 if any log has a splat, 0 if all logs are clean and 2 on usage or I/O errors.

A KUnit case that triggers a warning on purpose (a caller bug the code under
test must catch with WARN_ON_ONCE() or a lockdep assertion) declares it first
with a diagnostic line "gpusvm-expect-warn: WHERE", WHERE being a source file
(as the warning names it, e.g. drivers/gpu/drm/drm_gpusvm.c) or a function.
Until the case's KTAP result line ("ok N ..." or "not ok N ..."), a plain
"WARNING: ... at FILE:LINE FUNCTION+OFF/LEN" whose FILE or FUNCTION is a
declared WHERE is expected: printed as "LOG:LINENO: expected: LINE" and not
counted.  Every other splat, of any kind, still counts, in that case too.

A test that fails the kernel's own allocations (the fault-injection walk)
may fail one of DMA-API debug's, which then turns itself off for the rest of
the boot; it declares that with "gpusvm-expect-dma-debug-off", and until its
result line DMA-API debug's message saying so is expected too.
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
    # DMA-API debug turning itself off when an allocation of its own fails
    # (under fault injection): it checks nothing after that
    ("dma-api-off", r"DMA-API: (.*dma-debug disabled|debugging out of memory)"),
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

# The declaration of an expected warning, anywhere in a diagnostic line (KUnit
# prefixes it with the case name), and the KTAP result line that ends its scope.
EXPECT = re.compile(r"gpusvm-expect-warn: (\S+)")
EXPECT_DMA_OFF = re.compile(r"gpusvm-expect-dma-debug-off")
RESULT = re.compile(r"(not )?ok \d+ ")

# Where a WARN() happened: "WARNING: CPU: 0 PID: 1 at FILE:LINE FUNC+OFF/LEN".
WARN_AT = re.compile(r"WARNING: .* at (\S+):\d+ ([^+\s]+)\+")


def expected(msg, where):
    """Whether the warning @msg comes from one of the places in @where."""
    at = WARN_AT.match(msg)
    return bool(at) and (at.group(1) in where or at.group(2) in where)

MAX_SHOWN = 20


def scan(path):
    """Print the splat lines of the log at @path and return their number."""
    found = 0
    where = set()
    dma_off = False
    with open(path, "rb") as log:
        for lineno, raw in enumerate(log, 1):
            line = raw.decode(errors="replace").rstrip()
            msg = line[PREFIX.match(line).end():]
            if RESULT.match(msg):
                where = set()
                dma_off = False
                continue
            declared = EXPECT.search(msg)
            if declared:
                where.add(declared.group(1))
                continue
            if EXPECT_DMA_OFF.search(msg):
                dma_off = True
                continue
            kind = next((k for k, regex in SPLATS if regex.match(msg)), None)
            if (kind == "warning" and expected(msg, where)) or \
               (kind == "dma-api-off" and dma_off):
                print(f"{path}:{lineno}: expected: {line}")
            elif kind:
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
