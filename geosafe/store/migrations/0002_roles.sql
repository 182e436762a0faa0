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

-- the tables belong to geosafe_owner (its members own them: they import, by COPY, which
-- row-level security would refuse to a mere grantee); the migrating user stays a member
GRANT geosafe_owner TO CURRENT_USER;
ALTER TABLE batches OWNER TO geosafe_owner;
ALTER TABLE incidents OWNER TO geosafe_owner;
ALTER TABLE quarantine OWNER TO geosafe_owner;
ALTER TABLE people_links OWNER TO geosafe_owner;
ALTER TABLE flag_states OWNER TO geosafe_owner;
ALTER TABLE referral_places OWNER TO geosafe_owner;
ALTER TABLE store_state OWNER TO geosafe_owner;
ALTER TABLE schema_version OWNER TO geosafe_owner;

REVOKE ALL ON batches, incidents, quarantine, people_links, flag_states, referral_places,
    store_state, schema_version FROM PUBLIC;

GRANT SELECT ON batches, incidents, quarantine, people_links, flag_states, referral_places
    TO geosafe_analyst;
GRANT SELECT ON schema_version, store_state TO geosafe_owner, geosafe_analyst, geosafe_reader;

-- defence in depth: row-level security on the row tables with a policy for the analyst role
-- only (owners bypass it; a role granted SELECT by mistake still reads no row)
ALTER TABLE incidents ENABLE ROW LEVEL SECURITY;
ALTER TABLE quarantine ENABLE ROW LEVEL SECURITY;
ALTER TABLE people_links ENABLE ROW LEVEL SECURITY;
CREATE POLICY incidents_analyst ON incidents FOR SELECT TO geosafe_analyst USING (true);
CREATE POLICY quarantine_analyst ON quarantine FOR SELECT TO geosafe_analyst USING (true);
CREATE POLICY people_links_analyst ON people_links FOR SELECT TO geosafe_analyst USING (true);
