"""``map_large_allocations``: large buffers freed by a serving process go back to the system
at once, instead of staying resident between long-lived objects (glibc raises its mmap
threshold after each large free). Measured in fresh interpreters: the same long-lived objects
made with and without the large buffers between them must leave the same resident memory.
(Without the setting, the large buffers left ~15 MB more on this machine, 46 MB against 31;
once, inside the whole suite, they left nothing either way, so that side is not asserted.)"""

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
mode = sys.argv[1]
if mode in ("on", "none"):
    assert map_large_allocations()
keep = []
def work():
    for _ in range(6):
        if mode != "none":
            big = bytes(16_000_000)
            del big
            text = "x" * 9_000_000
        keep.extend(str(i) * 20 for i in range(20_000))
        if mode != "none":
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
    none, on, off = _rss("none"), _rss("on"), _rss("off")
    # the large buffers, freed, leave nothing resident (without the setting: +15 MB here)
    assert on < none + 2, (none, on, off)
