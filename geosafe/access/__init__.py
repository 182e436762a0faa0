"""Access: who may ask (tokens, sessions), how much (rate limits, request cost), and the
record of what they read (the audit log).

- :mod:`~geosafe.access.tokens`: tokens and browser sessions, :class:`Principal`,
  :class:`AccessSettings`;
- :mod:`~geosafe.access.audit`: the append-only, keyed and anchored audit log;
- :mod:`~geosafe.access.limits`: rate limits, login throttling, bbox rules and the cost of a
  request per role;
- :mod:`~geosafe.access.principals`: the cache of recently seen tokens;
- :mod:`~geosafe.access.context`: :class:`AccessContext`, what a service needs at request
  time, built once from settings at the edge (``api.create_app(settings, access=...)``).

Nothing here knows HTTP: ``api/`` maps the exceptions to status codes in one table.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import audit as audit
    from . import tokens as tokens
    from .audit import AuditLog
    from .tokens import ROLES, AccessSettings, Principal, TokenStore

__all__ = ["ROLES", "AccessSettings", "AuditLog", "Principal", "TokenStore", "audit", "tokens"]

#: Names given here, from the submodule that defines them, imported on first use: an import
#: that only audits itself loads neither the tokens (pydantic-settings, shapely) nor more.
_FROM: dict[str, str] = {
    "audit": "audit",
    "tokens": "tokens",
    "AuditLog": "audit",
    "ROLES": "tokens",
    "AccessSettings": "tokens",
    "Principal": "tokens",
    "TokenStore": "tokens",
}


def __getattr__(name: str) -> Any:
    if name not in _FROM:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_FROM[name]}")
    return module if name == _FROM[name] else getattr(module, name)
