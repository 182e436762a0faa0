#!/usr/bin/env bash
# Set up a fresh machine for geosafe: a virtual environment with the package and its
# dependencies, the vendored web assets, and (with --test) the Debian packages the tests use
# as independent clients (GDAL's ogrinfo, Chromium, QGIS). Safe to run again: it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'

# Front-end assets (Leaflet) come from the npm registry, pinned by web/package-lock.json.
if [ -f web/package.json ] && [ ! -d web/node_modules ]; then
    (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ "${1:-}" = "--test" ]; then
    missing=()
    command -v ogrinfo >/dev/null 2>&1 || missing+=(gdal-bin)
    command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)
    command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)  # profile.pdf pages as PNG
    # QGIS 3.22 as a real OGC API client in tests/clients (system python3, not the venv)
    /usr/bin/python3 -c 'import qgis.core' >/dev/null 2>&1 || missing+=(python3-qgis)
    # PostgreSQL + PostGIS: the tests start a throwaway cluster (geosafe/store/throwaway.py)
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
    ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || missing+=(postgis)
    if [ ${#missing[@]} -gt 0 ]; then
        if [ "$(id -u)" = "0" ]; then
            apt-get update -q >/dev/null
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
        else
            sudo apt-get update -q >/dev/null
            sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
        fi
    fi
fi
