"""Public Gi* statistics carry nothing the public counts do not.

The z-scores a school or neighbourhood team sees must be a function of the published
(rounded, suppressed) counts alone; they are checked against esda's ``G_Local`` (star) on
those counts, with suppressed cells taken as 5, over H3 ring-1 neighbours.
"""

from __future__ import annotations

import h3
import numpy as np
import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize("role", ["school"])
def test_public_gi_z_is_computed_from_published_counts(service, role: str) -> None:
    esda = pytest.importorskip("esda")
    from libpysal.weights import W

    app, toks = service
    client = TestClient(app)
    r = client.get(
        "/ogc/collections/h3-cells/items?limit=10000",
        headers={"Authorization": f"Bearer {toks[role]}"},
    )
    assert r.status_code == 200, r.text[:300]
    feats = r.json()["features"]
    assert len(feats) > 20
    cells = [f["properties"]["cell"] for f in feats]
    z_pub = np.array([f["properties"]["gi_z"] for f in feats], dtype=float)
    y = np.array(
        [5.0 if f["properties"].get("count") is None else f["properties"]["count"] for f in feats]
    )
    assert np.all(np.isin(y[y > 0] % 5, [0.0]))
    index = {c: i for i, c in enumerate(cells)}
    neighbours = {
        i: [index[n] for n in h3.grid_ring(c, 1) if n in index] for i, c in enumerate(cells)
    }
    w = W(neighbours, silence_warnings=True)
    g = esda.G_Local(y, w, star=True, permutations=0, transform="B")
    assert np.allclose(z_pub, np.round(g.Zs, 1), atol=0.051)
