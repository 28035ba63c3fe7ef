-- The distinct word stems of each text (pipeline.search.doc_key), space-separated with a space at
-- each end: the explorer finds every form of a word with contains(search_key, ' stem '). Made once
-- at ingest; rows stored before this column are keyed right after the migration.
ALTER TABLE submissions ADD COLUMN search_key VARCHAR;
