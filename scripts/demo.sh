#!/usr/bin/env bash
# Set everything up and run the main job on the bundled data: build the demo store
# (synthetic DIR/ASIF/CRIS/FAP + real police.uk burglary), then serve the map and API.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/geosafe demo "$@"
