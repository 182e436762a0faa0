"""A cache of the principals of recently seen tokens, valid while the token database is
unchanged, so a repeated request costs one ``PRAGMA data_version`` instead of a new SQLite
connection and a lookup."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

from .tokens import Principal, TokenStore, hash_secret

__all__ = ["PrincipalCache"]


class PrincipalCache:
    """Principals of recently seen tokens.

    Every lookup asks the token store whether its database changed
    (:meth:`TokenStore.watch`: ``PRAGMA data_version`` on one long-lived connection, and the
    file's inode); any change empties the cache (a token created or revoked, a session opened,
    an expiry edited). An entry also ends at its token's expiry and after ``max_age_s``.
    Tokens are held by their SHA-256 only.
    """

    def __init__(self, tokens: TokenStore, *, size: int = 256, max_age_s: float = 60.0) -> None:
        self.tokens = tokens
        self.size = size
        self.max_age_s = max_age_s
        self._lock = threading.Lock()
        self._watch = tokens.watch()
        self._state: tuple[int, int] | None = None
        self._hits: OrderedDict[str, tuple[Principal, datetime]] = OrderedDict()

    def authenticate(self, token: str) -> Principal:
        """:meth:`TokenStore.authenticate`, answered from the cache while it is valid."""
        key = hash_secret(token)
        now = datetime.now(UTC)
        with self._lock:
            state = self._watch.state()
            if state is None or state != self._state:
                self._hits.clear()
                self._state = state
            hit = self._hits.get(key)
            if hit is not None and hit[1] > now:
                self._hits.move_to_end(key)
                return hit[0]
        principal = self.tokens.authenticate(token)
        expires = self.tokens.expires_at(principal.token_id)
        with self._lock:
            if state is None or self._state != state or expires is None:
                return principal
            self._hits[key] = (principal, min(expires, now + timedelta(seconds=self.max_age_s)))
            while len(self._hits) > self.size:
                self._hits.popitem(last=False)
        return principal
