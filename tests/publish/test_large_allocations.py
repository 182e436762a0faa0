"""``map_large_allocations``: large buffers freed by a serving process go back to the system
at once, instead of staying resident between long-lived objects (glibc raises its mmap
threshold after each large free). Measured in fresh interpreters, with and without it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# a download's pattern: a large buffer freed, then a large text and its encoding made in a
# worker thread while long-lived small objects are allocated after them, six times over
_SCRIPT = """
import sys, threading
from geosafe._heap import map_large_allocations, release_free_heap
if sys.argv[1] == "on":
    assert map_large_allocations()
keep = []
def work():
    for _ in range(6):
        big = bytes(16_000_000)
        del big
        text = "x" * 9_000_000
        keep.extend(str(i) * 20 for i in range(20_000))
        body = text.encode()
        del text, body
t = threading.Thread(target=work)
t.start()
t.join()
release_free_heap()
print([int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmRSS")][0])
"""


def _rss(mode: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT, mode], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_large_freed_buffers_leave_no_resident_memory() -> None:
    off, on = _rss("off"), _rss("on")
    # without it, ~15 MB of freed text stays resident even after malloc_trim
    assert on < off - 8, (off, on)
