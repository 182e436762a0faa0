-- geosafe PostGIS store, schema 3: published aggregates, the only incident-derived data the
-- non-analyst role (geosafe_reader) can read.
--
-- incidents.pub_cell is each located incident's published H3 cell: resolution 8, or its own
-- coarser cell when its location is less precise (geosafe.publish.disclosure's rule); filled
-- when rows are staged (and for older rows by the store when it applies this migration).
-- published_h3_counts holds, per cell, month (Europe/London) and source, the count of current
-- committed incidents with the disclosure rules applied: 1-9 suppressed (count NULL),
-- others rounded to the nearest 5 (halves up). It is rewritten for the months a change
-- touches, in the change's own transaction (commit, rollback, erasure, purge).
ALTER TABLE incidents ADD COLUMN pub_cell TEXT;
CREATE INDEX incidents_pub_cell ON incidents (pub_cell);

CREATE TABLE published_h3_counts (
    cell TEXT NOT NULL,
    resolution SMALLINT NOT NULL,
    month TEXT NOT NULL,
    source TEXT NOT NULL,
    count INTEGER,
    suppressed BOOLEAN NOT NULL,
    PRIMARY KEY (month, cell, source)
);

ALTER TABLE published_h3_counts OWNER TO geosafe_owner;
REVOKE ALL ON published_h3_counts FROM PUBLIC;
GRANT SELECT ON published_h3_counts TO geosafe_analyst, geosafe_reader;
