"""Give freed heap back to the operating system (glibc's ``malloc_trim``).

When a layer build or a large download is done, CPython, pandas and numpy free their
buffers, but glibc keeps the freed pages of its heaps (the main heap and each thread's arena)
mapped, so a server's resident memory stays near its peak. ``malloc_trim(0)`` returns every
whole free page. Measured (``docs/notes/perf.md``, fifth wave): 274 -> 261 MB after a load run
on a year of six boroughs' burglaries, 1.4 ms a call. Elsewhere than glibc (macOS, musl) it
does nothing.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from typing import Any

__all__ = ["release_free_heap"]


@functools.cache
def _malloc_trim() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)  # the C library this process already runs on
        return libc.malloc_trim if hasattr(libc, "malloc_trim") else None
    except OSError:  # pragma: no cover - a static build without dlopen
        return None


def release_free_heap() -> bool:
    """Return the free pages of the C heap to the system; whether any were (always
    ``False`` off glibc)."""
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
