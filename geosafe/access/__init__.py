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

from . import audit as audit
from . import tokens as tokens
from .audit import AuditLog
from .tokens import ROLES, AccessSettings, Principal, TokenStore

__all__ = ["ROLES", "AccessSettings", "AuditLog", "Principal", "TokenStore", "audit", "tokens"]
