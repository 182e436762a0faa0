"""Run by Debian's system ``python3`` with QGIS 3.22: open the downloaded ``geosafe.qgs``
after creating the Basic auth configuration ``geosafe`` (token as password) as the README
says, and print one JSON object: per project layer, its provider, validity, feature count
and the type of its renderer.

argv: ``project.qgs token auth_dir``.
"""

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main():
    project_path, token, auth_dir = sys.argv[1:4]
    os.environ["QGIS_AUTH_DB_DIR_PATH"] = auth_dir
    from qgis.core import QgsApplication, QgsAuthMethodConfig, QgsProject

    app = QgsApplication([], False)
    app.initQgis()
    auth = QgsApplication.authManager()
    auth.setMasterPassword("geosafe-test", True)
    cfg = QgsAuthMethodConfig("Basic")
    cfg.setId("geosafe")
    cfg.setName("geosafe")
    cfg.setConfig("username", "qgis")
    cfg.setConfig("password", token)
    auth.storeAuthenticationConfig(cfg)
    project = QgsProject.instance()
    ok = project.read(project_path)
    out = {"read": bool(ok), "crs": project.crs().authid(), "layers": {}}
    for layer in project.mapLayers().values():
        renderer = layer.renderer() if hasattr(layer, "renderer") else None
        out["layers"][layer.name()] = {
            "provider": layer.providerType(),
            "valid": layer.isValid(),
            "features": layer.featureCount() if layer.isValid() else None,
            "renderer": renderer.type() if renderer else None,
        }
    print(json.dumps(out))
    app.exitQgis()


if __name__ == "__main__":
    main()
