"""Run by Debian's system ``python3`` with QGIS 3.22 (``python3-qgis``), never by the venv.

Reads a JSON job from ``argv[1]`` and prints one JSON object: for every OAPIF collection, what
QGIS made of it (valid, geometry type, CRS, feature count) through a Basic auth configuration
holding the token as its password, exactly as a user would set it up in QGIS; for every
GeoPackage, the renderer type of its default style; and a PNG render of one GeoPackage.

The job: ``{"base": URL, "token": str, "collections": [ids], "geopackages": {id: path},
"render": {"gpkg": path, "png": path} | null, "auth_dir": folder}``.
"""

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main():
    with open(sys.argv[1]) as fh:
        job = json.load(fh)
    os.environ["QGIS_AUTH_DB_DIR_PATH"] = job["auth_dir"]
    from qgis.core import (
        Qgis,
        QgsApplication,
        QgsAuthMethodConfig,
        QgsDataSourceUri,
        QgsMapRendererParallelJob,
        QgsMapSettings,
        QgsRectangle,
        QgsVectorLayer,
        QgsWkbTypes,
    )
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor

    app = QgsApplication([], False)
    app.initQgis()
    out = {"qgis": Qgis.QGIS_VERSION, "collections": {}, "geopackages": {}}
    auth = QgsApplication.authManager()
    auth.setMasterPassword("geosafe-test", True)
    cfg = QgsAuthMethodConfig("Basic")
    cfg.setName("geosafe")
    cfg.setConfig("username", job.get("username", "qgis"))
    cfg.setConfig("password", job["token"])
    ok = auth.storeAuthenticationConfig(cfg)
    out["authcfg_stored"] = bool(ok[0] if isinstance(ok, tuple) else ok)
    for cid in job["collections"]:
        uri = QgsDataSourceUri()
        uri.setParam("url", job["base"] + "/ogc")
        uri.setParam("typename", cid)
        uri.setAuthConfigId(cfg.id())
        layer = QgsVectorLayer(uri.uri(False), cid, "OAPIF")
        rec = {"valid": layer.isValid()}
        if layer.isValid():
            n = sum(1 for _ in layer.getFeatures())
            rec.update(
                geometry=QgsWkbTypes.geometryDisplayString(
                    QgsWkbTypes.geometryType(layer.wkbType())
                ),
                wkb=QgsWkbTypes.displayString(layer.wkbType()),
                crs=layer.crs().authid(),
                feature_count=layer.featureCount(),
                iterated=n,
                fields={f.name(): f.typeName() for f in layer.fields()},
            )
        else:
            rec["error"] = layer.error().summary() if layer.error() else ""
        out["collections"][cid] = rec
    for cid, path in job["geopackages"].items():
        layer = QgsVectorLayer(path, cid, "ogr")
        rec = {"valid": layer.isValid()}
        if layer.isValid():
            renderer = layer.renderer()
            rec.update(
                renderer=renderer.type() if renderer else None,
                classes=len(getattr(renderer, "ranges", lambda: [])())
                or len(getattr(renderer, "categories", lambda: [])()),
                crs=layer.crs().authid(),
                feature_count=layer.featureCount(),
                attribute=getattr(renderer, "classAttribute", lambda: None)(),
            )
        out["geopackages"][cid] = rec
    render = job.get("render")
    if render:
        layer = QgsVectorLayer(render["gpkg"], "hotspots", "ogr")
        settings = QgsMapSettings()
        settings.setLayers([layer])
        settings.setDestinationCrs(layer.crs())
        extent = QgsRectangle(layer.extent())
        extent.scale(1.15)
        settings.setExtent(extent)
        settings.setOutputSize(QSize(800, 600))
        settings.setBackgroundColor(QColor(255, 255, 255))
        job_r = QgsMapRendererParallelJob(settings)
        job_r.start()
        job_r.waitForFinished()
        image = job_r.renderedImage()
        out["render"] = {
            "saved": bool(image.save(render["png"], "PNG")),
            "size": [image.width(), image.height()],
            "non_white": _non_white(image),
        }
    print(json.dumps(out), flush=True)
    # QGIS 3.22's Python bindings may crash while tearing down layers at interpreter exit
    # (after the answer is out); leave without running their destructors.
    os._exit(0)


def _non_white(image, step=4):
    """How many sampled pixels are not white (the renderer drew something)."""
    n = 0
    for y in range(0, image.height(), step):
        for x in range(0, image.width(), step):
            if image.pixel(x, y) & 0xFFFFFF != 0xFFFFFF:
                n += 1
    return n


if __name__ == "__main__":
    main()
