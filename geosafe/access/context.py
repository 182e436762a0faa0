"""What a service needs at request time to decide who may ask what, and to record it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..settings import StoreSettings
from .audit import AuditLog
from .limits import CostLimits, HeavyGate, LoginThrottle, RateLimiter
from .principals import PrincipalCache
from .shared import Leases, SharedLimits
from .tokens import AccessSettings, TokenStore, token_store

__all__ = ["AccessContext"]


@dataclass
class AccessContext:
    """Tokens, audit log, limits and caches of one service, built once from settings.

    ``shared``: the limits database every worker of the service counts in (rate buckets,
    failed logins, heavy-computation slots); ``None`` counts in this process only.
    """

    settings: AccessSettings
    tokens: TokenStore
    audit: AuditLog
    shared: SharedLimits | None = None
    limiter: RateLimiter = field(init=False)
    logins: LoginThrottle = field(init=False)
    principals: PrincipalCache = field(init=False)
    heavy: HeavyGate = field(init=False)
    costs: CostLimits = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        shared = self.shared
        self.limiter = RateLimiter(s.rate_per_minute, shared=shared)
        self.logins = LoginThrottle(s.login_failures_per_minute, shared=shared)
        self.principals = PrincipalCache(self.tokens)
        leases = None if shared is None else Leases(shared, lease_s=s.heavy_lease_s)
        self.heavy = HeavyGate(s.heavy_slots, wait_s=s.heavy_wait_s, leases=leases)
        self.costs = CostLimits(
            max_grid_cells=s.max_grid_cells,
            max_kernel_cells=s.max_kernel_cells,
            max_bbox_km2=s.max_bbox_km2,
            max_journeys={
                "analyst": s.max_journeys_analyst,
                "school": s.max_journeys_school,
                "neighbourhood": 0,
            },
        )

    @classmethod
    def from_settings(
        cls,
        access: AccessSettings,
        store: StoreSettings,
        *,
        data_dir: Path | str | None = None,
    ) -> AccessContext:
        """The context of a service on ``store`` (token database, audit log and shared limits
        beside a SQLite store, or in a PostgreSQL store's database)."""
        tokens = token_store(access, store, data_dir=data_dir)
        return cls(
            settings=access,
            tokens=tokens,
            audit=AuditLog(store.audit_path()),
            shared=SharedLimits(access.limits_path(store)),
        )
