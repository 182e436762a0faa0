"""Dependencies shared by the routers: the app's services and the role guard."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from geosafe._errors import AccessDeniedError
from geosafe.jobs import JobRunner
from geosafe.publish.service import LayerService

from .settings import ServiceSettings

__all__ = ["ALL_ROLES", "Services", "Svc", "check_role", "require_roles", "services"]

log = logging.getLogger(__name__)

ALL_ROLES = ("analyst", "school", "neighbourhood")


@dataclass(frozen=True)
class Services:
    """What a request handler may call: settings, layers and background jobs."""

    settings: ServiceSettings
    layers: LayerService
    jobs: JobRunner
    #: Rendered pages (maps) by key, least recently used first.
    html_cache: OrderedDict[Hashable, Any] = field(default_factory=OrderedDict)


def services(request: Request) -> Services:
    """The :class:`Services` of the app serving ``request``."""
    svc: Services = request.app.state.services
    return svc


async def _services_dependency(request: Request) -> Services:
    # ``async`` so FastAPI calls it on the event loop, not through the thread pool
    return services(request)


#: A handler argument receiving the app's :class:`Services`.
Svc = Annotated[Services, Depends(_services_dependency)]


def require_roles(*roles: str) -> Callable[..., Any]:
    """The FastAPI dependency admitting ``roles``: :func:`api.security.require` (401 without a
    valid token, 403 for another role), returning the caller's ``Principal``."""
    from .security import require

    dep: Callable[..., Any] = require(*roles)
    return dep


def check_role(principal: Any, allowed: tuple[str, ...], what: str) -> None:
    """Refuse ``principal`` unless its role is in ``allowed``."""
    role = getattr(principal, "role", None)
    if role not in allowed:
        msg = f"role {role!r} may not read {what!r}; it needs one of {', '.join(allowed)}."
        raise AccessDeniedError(msg)
