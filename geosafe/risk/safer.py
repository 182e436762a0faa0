"""Safer walking alternatives: the least-exposed route within a bounded detour.

**Method** (:func:`safer_walks`): Dijkstra on cost = length · (1 + β · λ̄ₑ / λ̄), λ̄ₑ the mean
density along edge e and λ̄ the length-weighted mean over the network, for a ladder of β; per
origin the route with the least exposure whose length stays within ``max_detour`` (default
20%) of the shortest is kept (the shortest itself when none is safer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from .._errors import ValidationError
from ..network.walk import WalkNetwork, WalkRoutes
from .exposure import ExposureModel

__all__ = ["SaferWalks", "safer_walks"]

_BETAS: Final = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)


@dataclass(frozen=True)
class SaferWalks:
    """Safer walking alternatives, one per origin of a :class:`WalkRoutes`.

    Attributes
    ----------
    distance_m
        Length of the alternative, metres (the shortest route's when none is safer).
    exposure
        Its exposure, expected incidents per 1,000 journeys.
    geometry
        The alternative route (EPSG:27700).
    beta
        The exposure weight that produced it (0 = the shortest route itself).
    """

    distance_m: npt.NDArray[np.float64]
    exposure: npt.NDArray[np.float64]
    geometry: npt.NDArray[np.object_]
    beta: npt.NDArray[np.float64]


def safer_walks(
    net: WalkNetwork,
    model: ExposureModel,
    target_xy: tuple[float, float],
    origins_xy: npt.ArrayLike,
    shortest: WalkRoutes,
    *,
    max_detour: float = 0.2,
    betas: Sequence[float] = _BETAS,
    max_m: float = 10_000.0,
) -> SaferWalks:
    """The least-exposed walking route within a bounded detour, per origin.

    Parameters
    ----------
    net, model
        The walking network and the exposure model.
    target_xy, origins_xy
        The school and the origins (EPSG:27700), as given to ``shortest``.
    shortest
        The shortest routes (:meth:`WalkNetwork.routes_to`, with geometry).
    max_detour
        Longest accepted detour as a share of the shortest length (0.2 = 20% longer).
    betas
        Exposure weights tried (one Dijkstra each).
    max_m
        Search limit, cost units (metres for β = 0).

    Returns
    -------
    SaferWalks
    """
    if not 0 <= max_detour <= 2:
        msg = f"`max_detour` {max_detour!r} must be between 0 and 2 (0.2 = 20% longer)."
        raise ValidationError(msg)
    base = model.walk(shortest.geometry).per_1000
    best_d = shortest.distance_m.copy()
    best_e = base.copy()
    best_g = shortest.geometry.copy()
    best_b = np.zeros(len(best_d))
    dens = model.edge_density(net)
    mean = float(np.sum(dens * net.edge_length_m) / net.edge_length_m.sum())
    if not mean > 0:
        return SaferWalks(best_d, best_e, best_g, best_b)
    bound = shortest.distance_m * (1.0 + max_detour) + 1e-6
    for beta in betas:
        w = net.edge_length_m * (1.0 + beta * dens / mean)
        alt = net.routes_to(target_xy, origins_xy, max_m=np.inf, weights=w)
        e = model.walk(alt.geometry).per_1000
        better = alt.ok & shortest.ok & (alt.distance_m <= bound) & (e < best_e - 1e-12)
        best_d[better] = alt.distance_m[better]
        best_e[better] = e[better]
        best_g[better] = alt.geometry[better]
        best_b[better] = beta
    return SaferWalks(best_d, best_e, best_g, best_b)
