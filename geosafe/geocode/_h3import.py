"""Import h3 without ``importlib.metadata``: ~12 ms of a 10,000-row import's start-up.

h3's ``h3/_version.py`` is ``__version__ = metadata.version(__package__)``: importing
``importlib.metadata`` (and the ``email`` parser it needs) and scanning every ``sys.path``
entry for distributions, to learn a version string h3 never uses itself.
:func:`preload_version` gives h3 that module already made, with the ``Version:`` of the
``h3-*.dist-info/METADATA`` beside the h3 package that will be imported, only when
``_version.py`` is exactly that line (any other h3 release, or an install without a
dist-info beside it, is imported as it comes). ``h3.__version__`` is the same string.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types
from typing import Final

__all__ = ["preload_version"]

#: The whole of ``h3/_version.py`` in the h3 releases this stands in for (4.x).
VERSION_SOURCE: Final = (
    "from importlib import metadata\n\n__version__ = metadata.version(__package__ or __name__)\n"
)


def dist_version(site_dir: str, name: str) -> str | None:
    """The ``Version:`` of the single ``NAME-*.dist-info`` in ``site_dir`` (None when there is
    none, or more than one, or no such line)."""
    try:
        found = [
            d
            for d in os.listdir(site_dir)
            if d.startswith(f"{name}-")
            and d.endswith(".dist-info")
            and "-" not in d[len(name) + 1 : -len(".dist-info")]  # not NAME-other-x.dist-info
        ]
    except OSError:
        return None
    if len(found) != 1:
        return None
    try:
        with open(os.path.join(site_dir, found[0], "METADATA"), encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("Version:"):
                    return line.split(":", 1)[1].strip() or None
                if not line.strip():  # the end of the headers
                    return None
    except OSError:
        return None
    return None


def preload_version() -> None:
    """Put a ready ``h3._version`` in :data:`sys.modules` if h3 is not imported yet and its
    ``_version.py`` is :data:`VERSION_SOURCE`; otherwise do nothing."""
    if "h3" in sys.modules or "h3._version" in sys.modules:
        return
    try:
        spec = importlib.util.find_spec("h3")
    except (ImportError, ValueError):
        return
    if spec is None or not spec.origin or not spec.submodule_search_locations:
        return
    package_dir = os.path.dirname(spec.origin)
    try:
        with open(os.path.join(package_dir, "_version.py"), encoding="utf-8") as fh:
            if fh.read() != VERSION_SOURCE:
                return
    except OSError:
        return
    version = dist_version(os.path.dirname(package_dir), "h3")
    if version is None:
        return
    module = types.ModuleType("h3._version", "h3's version (geosafe.geocode._h3import)")
    module.__version__ = version  # type: ignore[attr-defined]
    sys.modules["h3._version"] = module
