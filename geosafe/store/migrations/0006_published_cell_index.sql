-- geosafe PostGIS store, schema 6: the published aggregates indexed by cell, so that a
-- batch's commit rewrites only the cells it touched in each period holding its months (the
-- national archive's 6,837 file batches each rewrote every cell of fifteen periods: ~3 s a
-- batch at 20 M rows; see geosafe/store/published.py, ``write(..., cells=...)``).
CREATE INDEX published_exact_cell ON published_exact (cell, month);
CREATE INDEX published_counts_cell ON published_counts (cell, period);
