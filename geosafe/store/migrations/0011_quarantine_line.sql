-- geosafe PostGIS store, schema 11: the line of the file a quarantined row starts on
-- (the header's counted; the row of a sheet), beside its data-row number: a field quoted
-- over several lines, or a blank line, puts the two apart, and a person fixing the file in
-- an editor goes by the line. NULL for rows quarantined before this version.
ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS line_no INTEGER;
