"""The operations a layer service may run in its builder's child process
(:mod:`geosafe.publish.builder`), or in its own process when it has no builder: building a
layer, and the few answers that read incidents or the published aggregates (why a layer is
empty, the period and sources a document shows, the area's extent, a layer's legend and QGIS
style, its CSV and GeoPackage downloads, the web page's basemap and labels). Each is called
as ``function(service, *args)``; its arguments and result are plain values."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

__all__ = ["AREA_OPERATIONS", "OPERATIONS", "run"]


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


def _basemap(svc: Any) -> str:
    from . import maps

    return json.dumps(maps.basemap(svc.data_dir).as_dict())


def _labels(svc: Any) -> str:
    from . import labels

    return json.dumps(labels.map_labels(svc.data_dir))


def _published_interventions(svc: Any, params: Any, principal: Any) -> Any:
    from ..protect.public_evaluation import published_interventions

    role = getattr(principal, "role", None)
    area = getattr(principal, "area", None) if role == "neighbourhood" else None
    return published_interventions(svc.published, data_dir=svc.data_dir, area=area)


def _csv(svc: Any, collection: str, params: Any, principal: Any) -> str:
    from .exports import csv_text

    return csv_text(svc.layer(collection, params, principal=principal))


def _geopackage(svc: Any, collection: str, path: str, params: Any, principal: Any) -> str:
    from pathlib import Path

    from .exports import write_geopackage

    return str(write_geopackage(svc.layer(collection, params, principal=principal), Path(path)))


def _qml(svc: Any, collection: str, geometry: str, params: Any, principal: Any) -> str:
    from . import styles

    frame = svc.layer(collection, params, principal=principal).frame
    return styles.qml(styles.legend_for(collection, frame), geometry)  # type: ignore[no-any-return]


#: What a service may run in its builder's child: name -> ``function(service, *args)``.
OPERATIONS: Final[dict[str, Callable[..., Any]]] = {
    "layer": _layer,
    "excluded": _excluded,
    "document_period": _document_period,
    "sources_recorded": _sources_recorded,
    "area_extent": _area_extent,
    "area_bounds": _area_bounds,
    "legend": _legend,
    "basemap": _basemap,
    "labels": _labels,
    "published_interventions": _published_interventions,
    "csv": _csv,
    "geopackage": _geopackage,
    "qml": _qml,
}

#: The operations that read only the area's bundled data: no parameters, no viewer, no store.
AREA_OPERATIONS: Final = frozenset({"area_extent", "area_bounds", "basemap", "labels"})
