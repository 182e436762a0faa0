-- geosafe PostGIS store, schema 8: what non-analyst requests read over the reader connection
-- besides the published counts (geosafe_reader, GEOSAFE_READER_DB), column by column:
--   safe_places    the public places and their opening hours (the safe-places layer, the
--                  safe places counted along a school's corridors and reports); not the
--                  import's notes nor its file name;
--   interventions  where and when (the published view draws the published H3 cells the area
--                  covers, with its months: geosafe/protect/public_evaluation.py); not what was
--                  done, where_ref, the notes nor who recorded it.
-- Nothing else: safe_places_quarantine (the rows an import refused, as read),
-- intervention_evaluations (the analyst's evaluation), incidents, published_exact and
-- school_rolls stay refused (tests/store/test_reader_reference.py).
GRANT SELECT (place_id, name, kind, opening_hours, source, x, y) ON safe_places TO geosafe_reader;
GRANT SELECT (id, where_kind, geometry_wkt, started_on, ended_on) ON interventions
    TO geosafe_reader;
