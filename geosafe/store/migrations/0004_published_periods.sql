-- geosafe PostGIS store, schema 4: published aggregates per period and time window, the only
-- incident-derived data the non-analyst role (geosafe_reader) can read
-- (geosafe/store/published.py describes them; the SQLite store holds the same two tables).
--
-- published_exact: exact counts per month, published H3 cell, source and time window (a
-- named preset: all-day, school-run, after-school, evenings, night, weekends). Never shown;
-- readable by the owner and analyst roles only.
-- published_counts: per period (month 2025-03, quarter 2025-Q1, year 2025, the twelve
-- months ending with a month L12:2025-03), cell, source ('*' = every source) and time window,
-- the count with the disclosure rules applied (1-9 suppressed: count NULL; others rounded
-- to 5, halves up), each from the exact total of its own incidents. Both are rewritten for
-- the months a change touches, in the change's own transaction; the store fills them for
-- the rows already there when it applies this migration.
DROP TABLE published_h3_counts;

CREATE TABLE published_exact (
    month TEXT NOT NULL,
    cell TEXT NOT NULL,
    resolution SMALLINT NOT NULL,
    source TEXT NOT NULL,
    time_window TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (month, cell, source, time_window)
);

CREATE TABLE published_counts (
    period TEXT NOT NULL,
    cell TEXT NOT NULL,
    resolution SMALLINT NOT NULL,
    source TEXT NOT NULL,
    time_window TEXT NOT NULL,
    count INTEGER,
    suppressed BOOLEAN NOT NULL,
    PRIMARY KEY (period, time_window, source, cell)
);

-- schema 3's table, kept as a view: the monthly all-day counts of each source
CREATE VIEW published_h3_counts AS
    SELECT cell, resolution, period AS month, source, count, suppressed
    FROM published_counts
    WHERE time_window = 'all-day' AND source <> '*' AND period ~ '^[0-9]{4}-[0-9]{2}$';

ALTER TABLE published_exact OWNER TO geosafe_owner;
ALTER TABLE published_counts OWNER TO geosafe_owner;
ALTER VIEW published_h3_counts OWNER TO geosafe_owner;
REVOKE ALL ON published_exact, published_counts, published_h3_counts FROM PUBLIC;
GRANT SELECT ON published_exact TO geosafe_analyst;
GRANT SELECT ON published_counts, published_h3_counts TO geosafe_analyst, geosafe_reader;
