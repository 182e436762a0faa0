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

__all__ = ["map_large_allocations", "release_free_heap"]

#: ``mallopt`` parameter number of glibc's mmap threshold (``malloc.h``).
_M_MMAP_THRESHOLD = -3


@functools.cache
def _libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None)  # the C library this process already runs on
    except OSError:  # pragma: no cover - a static build without dlopen
        return None


def _malloc_trim() -> Any:
    libc = _libc()
    return getattr(libc, "malloc_trim", None) if libc is not None else None


def map_large_allocations(threshold: int = 1 << 20) -> bool:
    """Serve every allocation of ``threshold`` bytes or more with its own mapping, given back
    the moment it is freed (glibc ``mallopt(M_MMAP_THRESHOLD)``; whether it was set, always
    ``False`` off glibc).

    glibc raises its threshold after each large free (up to 32 MB), so the next large buffers
    (a GeoJSON download of several MB, a layer arriving from the builder process) come from
    the heap, between small long-lived objects, and stay resident after they are freed:
    measured on a year of six boroughs' incidents, one 9 MB download left 23 MB that
    ``malloc_trim`` could not return. For a process that serves and does not compute (many
    mappings would slow numpy's large temporaries); :func:`api.create_app` sets it when its
    layers are built in a child process."""
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None) if libc is not None else None
    return bool(mallopt(_M_MMAP_THRESHOLD, int(threshold))) if mallopt is not None else False


def release_free_heap() -> bool:
    """Return the free pages of the C heap to the system; whether any were (always
    ``False`` off glibc)."""
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
