-- geosafe PostGIS store, schema 7: the tables of geosafe.protect (interventions and their last
-- evaluation, safe places and the rows their imports refused), created here with their owner
-- and grants. Before, the first login that wrote created them (it needed CREATE on the schema)
-- with no grants, so the service's analyst login could not read what the owner logged.
-- The CREATE TABLE statements below are also what a SQLite store runs (geosafe/protect/sql.py
-- migration_tables): one definition for both backends (tests/protect/test_protect_ddl.py).
CREATE TABLE IF NOT EXISTS interventions (
    id INTEGER PRIMARY KEY,
    what TEXT NOT NULL,
    where_kind TEXT NOT NULL,
    where_ref TEXT NOT NULL,
    geometry_wkt TEXT NOT NULL,
    started_on TEXT NOT NULL,
    ended_on TEXT,
    notes TEXT,
    recorded_at TEXT NOT NULL,
    recorded_by TEXT
);

CREATE TABLE IF NOT EXISTS intervention_evaluations (
    intervention_id INTEGER PRIMARY KEY,
    evaluated_at TEXT NOT NULL,
    summary TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS safe_places (
    place_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    opening_hours TEXT,
    source TEXT NOT NULL,
    file_name TEXT,
    file_sha256 TEXT,
    x DOUBLE PRECISION NOT NULL,
    y DOUBLE PRECISION NOT NULL,
    notes TEXT,
    imported_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS safe_places_quarantine (
    source TEXT NOT NULL,
    file_name TEXT,
    file_sha256 TEXT,
    row_no INTEGER NOT NULL,
    col TEXT,
    reason_code TEXT NOT NULL,
    reason TEXT NOT NULL,
    raw TEXT,
    imported_at TEXT NOT NULL
);

ALTER TABLE interventions OWNER TO geosafe_owner;
ALTER TABLE intervention_evaluations OWNER TO geosafe_owner;
ALTER TABLE safe_places OWNER TO geosafe_owner;
ALTER TABLE safe_places_quarantine OWNER TO geosafe_owner;
REVOKE ALL ON interventions, intervention_evaluations, safe_places, safe_places_quarantine
    FROM PUBLIC;
-- the service (analyst login) reads the log and the places, and keeps each evaluation
GRANT SELECT ON interventions, safe_places, safe_places_quarantine TO geosafe_analyst;
GRANT SELECT, INSERT, UPDATE, DELETE ON intervention_evaluations TO geosafe_analyst;
