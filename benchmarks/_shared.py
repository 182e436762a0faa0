"""Where the read-only shared real data lives, for benchmark scripts.

``../shared/data`` beside the checkout (``/work/main`` -> ``/work/shared/data``), or beside
its parent for a worktree (``/work/wt/NAME`` -> ``/work/shared/data``), or
``GEOSAFE_SHARED_DATA``.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def shared_data() -> Path:
    """The shared data folder (may not exist: callers skip then)."""
    env = os.environ.get("GEOSAFE_SHARED_DATA")
    if env:
        return Path(env)
    for base in (ROOT.parent, ROOT.parent.parent):
        if (base / "shared" / "data").is_dir():
            return base / "shared" / "data"
    return ROOT.parent / "shared" / "data"
