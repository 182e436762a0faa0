"""Publishing: what leaves the store, for whom.

- :mod:`~geosafe.publish.catalogue`: the collections (:class:`CollectionSpec`) and their
  analysis parameters (:class:`AnalysisParams`);
- :mod:`~geosafe.publish.layer`: a published layer (:class:`Layer`), GeoJSON serialisation;
- :mod:`~geosafe.publish.service`: the layer service (the cache; builders registered directly);
- builders: :mod:`~geosafe.publish.records` (schools, bus stops, incidents),
  :mod:`~geosafe.publish.hotspot_layers` (KDE, H3 Gi*, clusters, emerging),
  :mod:`~geosafe.publish.corridors` (journey corridors, journeys and school reports over
  the service), :mod:`~geosafe.publish.exports` (GeoPackage with QGIS styles, GeoJSON, CSV),
  :mod:`~geosafe.publish.styles` (the classes shared by the web map and the QGIS styles),
  :mod:`~geosafe.publish.maps` (Folium maps, offline basemap);
- disclosure: :mod:`~geosafe.publish.disclosure` (rounding, suppression, aggregation, the
  published periods), :mod:`~geosafe.publish.roles` (what each role may see of a feature),
  :mod:`~geosafe.publish.public_layers` (the layers non-analysts get, built from published
  aggregates only).

The package imports none of them itself (``import geosafe.publish.service``): the builders
call :mod:`geosafe.risk` and :mod:`geosafe.network`, and :mod:`geosafe.risk` uses
:mod:`geosafe.publish.disclosure`, so importing every module here would make a cycle.
"""
