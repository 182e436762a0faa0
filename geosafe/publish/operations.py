"""The operations a layer service may run in its builder's child process
(:mod:`geosafe.publish.builder`), or in its own process when it has no builder: building a
layer, and the few answers that read incidents or the published aggregates (why a layer is
empty, the period and sources a document shows, the area's extent, a layer's legend). Each is
called as ``function(service, *args)``; its arguments and result are plain values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

__all__ = ["OPERATIONS", "run"]


def run(service: Any, operation: str, args: tuple[Any, ...]) -> Any:
    """``operation`` on ``service`` (here, whichever process this is)."""
    result = OPERATIONS[operation](service, *args)
    service._release_page_cache()
    return result


def _layer(svc: Any, collection: str, params: Any, principal: Any) -> Any:
    return svc.layer(collection, params, principal=principal).packed()


def _excluded(svc: Any, collection: str, params: Any, principal: Any) -> Any:
    return svc.excluded(collection, params, principal=principal)


def _area_extent(svc: Any) -> tuple[float, float, float, float]:
    from . import pages

    return pages.area_extent(svc.data_dir)


def _area_bounds(svc: Any) -> tuple[float, float, float, float]:
    from .. import datasets

    return tuple(datasets.demo_area(svc.data_dir).bounds)  # type: ignore[return-value]


def _legend(svc: Any, collection: str, params: Any, principal: Any) -> dict[str, Any]:
    from . import styles

    frame = svc.layer(collection, params, principal=principal).frame
    return styles.legend_for(collection, frame).as_dict()  # type: ignore[no-any-return]


def _document_period(svc: Any, params: Any, principal: Any) -> Any:
    from .published_counts import document_period

    return document_period(svc, params, principal)


def _sources_recorded(svc: Any, params: Any, principal: Any) -> Any:
    from .published_counts import sources_recorded

    return sources_recorded(svc, params, principal)


#: What a service may run in its builder's child: name -> ``function(service, *args)``.
OPERATIONS: Final[dict[str, Callable[..., Any]]] = {
    "layer": _layer,
    "excluded": _excluded,
    "document_period": _document_period,
    "sources_recorded": _sources_recorded,
    "area_extent": _area_extent,
    "area_bounds": _area_bounds,
    "legend": _legend,
}
