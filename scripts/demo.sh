#!/usr/bin/env bash
# Set everything up and run the main job on the bundled data: build the demo area from the
# bundled files (the same `geosafe area build` a borough runs on its own downloads), build
# the demo store (synthetic DIR/ASIF/CRIS/FAP + real police.uk burglary), then serve the map
# and API on that area.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
AREA="${GEOSAFE_AREA:-out/demo/area}"
if [ ! -f "$AREA/area.json" ]; then
  .venv/bin/geosafe area build --out "$AREA" --name "Bounds Green demo area" \
    --osm data/osm/bounds_green_highways.osm.bz2 \
    --boundary data/boundaries/boundaries.gpkg:demo_area \
    --lad data/boundaries/boundaries.gpkg:boroughs \
    --wards data/boundaries/boundaries.gpkg:wards_2018 \
    --lsoa data/boundaries/boundaries.gpkg:lsoa_2021 \
    --gtfs data/gtfs/demo_area_estimated \
    --schools data/schools/schools.csv \
    --postcodes data/postcodes/codepoint_n_en.csv.gz \
    --stops data/tfl/bus_stops.csv.gz
fi
export GEOSAFE_AREA="$AREA"
exec .venv/bin/geosafe demo "$@"
