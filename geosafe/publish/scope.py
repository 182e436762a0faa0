"""What a principal's view of a layer depends on (:func:`scope_key`), and the finest H3
resolution published outside the analyst role: what the serving process keys its caches
by, with no analysis library loaded (:mod:`geosafe.publish.service`)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Final

__all__ = ["MAX_PUBLIC_H3_RESOLUTION", "scope_key"]

#: Finest H3 resolution published outside the analyst role (edge ~0.46 km, area ~0.74 km²).
MAX_PUBLIC_H3_RESOLUTION: Final = 8


def scope_key(principal: Any, collection: str | None = None) -> Hashable:
    """What a principal's view of a layer depends on (role, school, area); cache outputs by it.

    With ``collection``: only what that collection's view depends on, so views that are the
    same for every school (all but ``journey-corridors``) are built and kept once, not once
    per school token."""
    if (
        collection is not None
        and collection != "journey-corridors"
        and getattr(principal, "role", None) == "school"
    ):
        return ("school", None, (), None)
    return (
        getattr(principal, "role", None),
        getattr(principal, "school_urn", None),
        tuple(getattr(principal, "area_codes", ()) or ()),
        getattr(principal, "token_id", None)
        if getattr(principal, "area", None) is not None
        else None,
    )
