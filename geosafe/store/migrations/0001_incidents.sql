-- geosafe PostGIS store, schema 1: the incident tables (the SQLite store's columns; the
-- geometry is a PostGIS geometry in EPSG:27700 instead of WKB bytes).
CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE batches (
    batch_id BIGSERIAL PRIMARY KEY,
    source TEXT NOT NULL,
    file_name TEXT,
    file_sha256 TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('staging', 'committed', 'aborted', 'rolled_back')),
    rows BIGINT DEFAULT 0,
    accepted BIGINT DEFAULT 0,
    quarantined BIGINT DEFAULT 0,
    no_location BIGINT DEFAULT 0,
    updated BIGINT DEFAULT 0,
    reasons TEXT DEFAULT '{}',
    pid INTEGER,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    rolled_back_at TEXT,
    extra TEXT DEFAULT '{}'
);
CREATE INDEX batches_sha ON batches (source, file_sha256, status);

CREATE TABLE incidents (
    id BIGSERIAL PRIMARY KEY,
    batch_id BIGINT NOT NULL,
    source TEXT NOT NULL,
    source_ref TEXT NOT NULL,
    ref_key BIGINT NOT NULL,
    row_no INTEGER,
    t_from DOUBLE PRECISION,
    t_to DOUBLE PRECISION,
    time_precision TEXT,
    category TEXT,
    flags TEXT,
    route TEXT,
    stop_code TEXT,
    school_urn TEXT,
    precision_m DOUBLE PRECISION,
    geocode_method TEXT,
    location_text TEXT,
    h3_cell TEXT,
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    minx DOUBLE PRECISION,
    miny DOUBLE PRECISION,
    maxx DOUBLE PRECISION,
    maxy DOUBLE PRECISION,
    geom geometry(Geometry, 27700),
    weight DOUBLE PRECISION,
    detail TEXT,
    row_hash BIGINT,
    current SMALLINT NOT NULL DEFAULT 1,
    superseded_by BIGINT
);
CREATE INDEX incidents_batch ON incidents (batch_id, row_no);
CREATE INDEX incidents_ref ON incidents (ref_key);
CREATE INDEX incidents_time ON incidents (t_from);
CREATE INDEX incidents_geom ON incidents USING GIST (geom);
CREATE INDEX incidents_h3 ON incidents (h3_cell);

CREATE TABLE quarantine (
    id BIGSERIAL PRIMARY KEY,
    batch_id BIGINT NOT NULL,
    source TEXT,
    row_no INTEGER,
    col TEXT,
    reason_code TEXT,
    reason TEXT,
    ref TEXT,
    raw TEXT
);
CREATE INDEX quarantine_batch ON quarantine (batch_id);

-- the contextual profile's side tables (geosafe.profile.tables), keyed like their incident row
CREATE TABLE people_links (
    batch_id BIGINT NOT NULL,
    row_no INTEGER NOT NULL,
    person_key TEXT NOT NULL,
    role TEXT
);
CREATE INDEX people_links_row ON people_links (batch_id, row_no);
CREATE INDEX people_links_person ON people_links (person_key);
CREATE TABLE flag_states (
    batch_id BIGINT NOT NULL,
    row_no INTEGER NOT NULL,
    flag TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('Y', 'N', 'U'))
);
CREATE INDEX flag_states_row ON flag_states (batch_id, row_no);
CREATE TABLE referral_places (
    batch_id BIGINT NOT NULL,
    row_no INTEGER NOT NULL,
    note TEXT,
    matched_text TEXT,
    place TEXT,
    kind TEXT,
    method TEXT,
    precision_m DOUBLE PRECISION,
    x DOUBLE PRECISION,
    y DOUBLE PRECISION
);
CREATE INDEX referral_places_row ON referral_places (batch_id, row_no);

-- side-table rows follow their incident (erasure, rollback, purge, aborted imports)
CREATE FUNCTION incidents_profile_gc() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM people_links WHERE batch_id = OLD.batch_id AND row_no = OLD.row_no;
    DELETE FROM flag_states WHERE batch_id = OLD.batch_id AND row_no = OLD.row_no;
    DELETE FROM referral_places WHERE batch_id = OLD.batch_id AND row_no = OLD.row_no;
    RETURN OLD;
END $$;
CREATE TRIGGER incidents_profile_gc AFTER DELETE ON incidents
    FOR EACH ROW WHEN (OLD.source <> 'police_uk') EXECUTE FUNCTION incidents_profile_gc();

-- one row: bumped by every change readers can see (caches across workers key on it)
CREATE TABLE store_state (
    one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    generation BIGINT NOT NULL
);
INSERT INTO store_state VALUES (TRUE, 0);
