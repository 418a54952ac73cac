# SPDX-License-Identifier: GPL-2.0
"""Console checks: find kernel reports (warnings, BUGs, oopses, lockdep,
KFENCE/KASAN) in a guest's console, name them, and fail a test on them.

Public names: ALARMS, reports(), check_clean(), report_excerpt(),
vmdense_frames(), without_oom_reports().
"""
import re

from .harness import check

# What a kernel prints when something is wrong. Lockdep's reports start
# with WARNING:/BUG: or say that lockdep stopped; "RCU lockdep checking is
# enabled" at boot is no report.
ALARMS = ("WARNING:", "BUG:", "Oops", "Call Trace:", "general protection",
          "double fault", "Kernel panic", "lockdep is turned off",
          "possible circular locking", "possible recursive locking",
          "inconsistent lock state", "INFO: possible",
          "suspicious RCU usage", "KFENCE:", "KASAN:", "UBSAN:",
          "soft lockup", "hung_task", "blocked for more than",
          "self-detected stall", "detected stalls on CPUs")

# Frames of our code in a call trace: the modules, and mm/hinting's and
# known-zero's functions (built in).
_OURS = re.compile(r"\[vmdense_\w+\]|\b(hinting|kz|vmem|vb|hv_mem)_\w+\+0x")


def reports(lines, allowed=()):
    """Indices of the lines of @lines that start a kernel report, less
    those matching a regular expression of @allowed (documented reports
    that are not ours: each names where it is documented)."""
    found = []
    for i, line in enumerate(lines):
        if any(a in line for a in ALARMS) and \
                not any(re.search(p, line) for p in allowed):
            found.append(i)
    return found


def report_excerpt(lines, i, before=3, after=40):
    return "\n".join(lines[max(0, i - before):i + after])


def vmdense_frames(text):
    """The frames of our code in @text (a call trace), if any."""
    return sorted(set(m.group(0) for m in _OURS.finditer(text)))


def without_oom_reports(lines):
    """@lines less the OOM killer's reports (from "invoked oom-killer" to
    its "Killed process" line): for scenarios that provoke them on
    purpose and count them."""
    out, skipping = [], False
    for line in lines:
        if "invoked oom-killer" in line:
            skipping = True
        if not skipping:
            out.append(line)
        elif "Killed process" in line or "oom_reaper:" in line:
            skipping = False
    return out


def check_clean(text, what, allowed=(), oom_ok=False):
    """Fail if @text (a console) holds a kernel report that @allowed does
    not name (nor, with @oom_ok, an OOM killer's report); the lines around
    the first one go into the message."""
    lines = text.splitlines()
    if oom_ok:
        lines = without_oom_reports(lines)
    found = reports(lines, allowed)
    check(not found, "kernel report in %s:\n%s" % (
        what, report_excerpt(lines, found[0]) if found else ""))
