-- geosafe PostGIS store, schema 10: which postcode list placed the referrals' homes in
-- published_referrals (geosafe/store/published_referrals.py). One row, rewritten with the
-- table whenever it is rewritten: the data folder the writer was configured with
-- (GEOSAFE_DATA_DIR, else GEOSAFE_AREA / --area, else the bundled data: the rule the service
-- follows for its own data folder), the SHA-256 of that folder's postcode list and its number
-- of postcodes. A service whose data folder holds another list warns (its routes would start
-- from homes placed with a list of another area). The SQLite store runs the CREATE TABLE
-- below too. Nothing about a referral: the reader role reads it.
CREATE TABLE IF NOT EXISTS published_referrals_source (
    data_dir TEXT NOT NULL,
    postcodes_sha256 TEXT NOT NULL,
    postcodes INTEGER NOT NULL
);

ALTER TABLE published_referrals_source OWNER TO geosafe_owner;
REVOKE ALL ON published_referrals_source FROM PUBLIC;
GRANT SELECT ON published_referrals_source TO geosafe_analyst, geosafe_reader;
