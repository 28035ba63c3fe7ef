-- Columns of an imported file that map to none of ours (data/column_map.csv), kept per row as a
-- JSON object {header: value} so that nothing in the file is lost.
ALTER TABLE submissions ADD COLUMN extra JSON;
