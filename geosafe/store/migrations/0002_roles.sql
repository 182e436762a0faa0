-- geosafe PostGIS store, schema 2: roles. Group roles (NOLOGIN); a deployment grants them to
-- its login users, e.g. `CREATE ROLE svc_public LOGIN IN ROLE geosafe_reader`.
--   geosafe_owner    imports, rollbacks, erasure, purge: every store table
--   geosafe_analyst  reads everything (incidents, quarantine, people links, flags)
--   geosafe_reader   the service's user for non-analyst requests: the published aggregates
--                    only; incident, quarantine and people rows are not readable at all
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'geosafe_owner') THEN
        CREATE ROLE geosafe_owner NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'geosafe_analyst') THEN
        CREATE ROLE geosafe_analyst NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'geosafe_reader') THEN
        CREATE ROLE geosafe_reader NOLOGIN;
    END IF;
END $$;

REVOKE ALL ON batches, incidents, quarantine, people_links, flag_states, referral_places,
    store_state, schema_version FROM PUBLIC;

GRANT SELECT, INSERT, UPDATE, DELETE ON batches, incidents, quarantine, people_links,
    flag_states, referral_places, store_state TO geosafe_owner;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO geosafe_owner;
GRANT SELECT ON batches, incidents, quarantine, people_links, flag_states, referral_places
    TO geosafe_analyst;
GRANT SELECT ON schema_version, store_state TO geosafe_owner, geosafe_analyst, geosafe_reader;

-- defence in depth: row-level security on the row tables, with policies only for the owner
-- and analyst roles (a role granted SELECT by mistake still reads no row)
ALTER TABLE incidents ENABLE ROW LEVEL SECURITY;
ALTER TABLE quarantine ENABLE ROW LEVEL SECURITY;
ALTER TABLE people_links ENABLE ROW LEVEL SECURITY;
CREATE POLICY incidents_owner ON incidents TO geosafe_owner USING (true) WITH CHECK (true);
CREATE POLICY incidents_analyst ON incidents FOR SELECT TO geosafe_analyst USING (true);
CREATE POLICY quarantine_owner ON quarantine TO geosafe_owner USING (true) WITH CHECK (true);
CREATE POLICY quarantine_analyst ON quarantine FOR SELECT TO geosafe_analyst USING (true);
CREATE POLICY people_links_owner ON people_links TO geosafe_owner USING (true) WITH CHECK (true);
CREATE POLICY people_links_analyst ON people_links FOR SELECT TO geosafe_analyst USING (true);
