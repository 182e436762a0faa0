-- geosafe PostGIS store, schema 9: what non-analyst school reports and journey corridors read
-- of the Fair Access Panel referrals (geosafe/store/published_referrals.py describes it; the
-- SQLite store runs the CREATE TABLE below too). Per school (URN):
--   kind 'home'       key an H3 resolution-8 cell of the referrals' home postcodes (or
--                     'unknown': a postcode not in the area's list): the referrals living there
--   kind 'homes'      key '*': every referral with a home postcode
--   kind 'flag'       key a flag (cse, ...): referrals with the flag Y
--   kind 'unrecorded' key a flag: referrals with the flag not recorded
--   kind 'referrals'  key '*': every referral
-- each count with the disclosure rules applied to its own exact total (1-9 suppressed: count
-- NULL; others rounded to 5, halves up; 0 kept). Rewritten in the same transaction as every
-- import, rollback, erasure and purge that touches a referral; never a postcode.
-- The reader role (geosafe_reader) reads it; incidents stay refused to it.
CREATE TABLE IF NOT EXISTS published_referrals (
    school_urn TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    count INTEGER,
    suppressed BOOLEAN NOT NULL,
    PRIMARY KEY (school_urn, kind, key)
);

-- a FAP change rewrites the table from every referral: found through this small index, not a
-- scan of a national store's incidents
CREATE INDEX IF NOT EXISTS incidents_fap ON incidents (batch_id) WHERE source = 'fap';

ALTER TABLE published_referrals OWNER TO geosafe_owner;
REVOKE ALL ON published_referrals FROM PUBLIC;
GRANT SELECT ON published_referrals TO geosafe_analyst, geosafe_reader;
