-- geosafe PostGIS store, schema 5: school rolls in the store (geosafe/rolls.py), one row per
-- school: its roll aggregated to postcodes and pupil counts (CSV text), replaced in one
-- transaction by an upload. The owner and the analyst role (the service, which stores the
-- schools' uploads) read and write them; the non-analyst reader role cannot read them.
CREATE TABLE school_rolls (
    urn TEXT PRIMARY KEY,
    roll TEXT NOT NULL,
    source TEXT,
    file_sha256 TEXT,
    postcodes INTEGER NOT NULL,
    pupils INTEGER NOT NULL,
    modified TEXT NOT NULL,
    version TEXT NOT NULL
);

ALTER TABLE school_rolls OWNER TO geosafe_owner;
REVOKE ALL ON school_rolls FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON school_rolls TO geosafe_analyst;
