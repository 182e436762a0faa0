"""The service gives freed C heap back once idle (issue 16 item 1, server memory):
``geosafe._heap.release_free_heap`` (glibc ``malloc_trim``) and ``api.idle.TrimWhenIdle``,
which calls it only when no request has been in flight for its delay."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import pytest

from api import idle

FRAGMENT = """
from pathlib import Path
from geosafe._heap import release_free_heap

def rss():
    return [int(x.split()[1]) for x in Path("/proc/self/status").read_text().splitlines()
            if x.startswith("VmRSS:")][0] / 1024

chunks = [bytes(2000) for _ in range(30000)]  # malloc'd (larger than CPython's small blocks)
kept = chunks[::10]  # every tenth stays: the freed ones are holes glibc keeps mapped
del chunks
before = rss()
print(release_free_heap(), before - rss())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_release_free_heap_returns_freed_pages() -> None:
    out = subprocess.run(
        [sys.executable, "-c", FRAGMENT], capture_output=True, text=True, check=True
    ).stdout.split()
    released, freed_mb = out[0] == "True", float(out[1])
    assert released and freed_mb > 20, out  # ~50 MB of holes in a 60 MB heap


def test_trim_runs_once_after_the_last_request_and_never_during_one(monkeypatch: Any) -> None:
    calls: list[int] = []
    mw: idle.TrimWhenIdle

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(0.03)
        calls.append(-mw._active)  # a trim during a request would show between these

    def trim() -> bool:
        calls.append(1)
        return True

    monkeypatch.setattr(idle, "release_free_heap", trim)
    mw = idle.TrimWhenIdle(app, delay=0.05)

    none: Any = None  # receive and send: the fake app uses neither

    async def scenario() -> None:
        http = {"type": "http"}
        await asyncio.gather(*(mw(http, none, none) for _ in range(3)))  # a burst
        await asyncio.sleep(0.02)
        await mw(http, none, none)  # another request before the delay is over
        assert 1 not in calls
        await asyncio.sleep(0.1)
        assert calls.count(1) == 1  # one trim, once idle
        await asyncio.sleep(0.1)
        await mw({"type": "lifespan"}, none, none)  # not a request: no new trim
        await asyncio.sleep(0.1)

    asyncio.run(scenario())
    assert calls.count(1) == 1
