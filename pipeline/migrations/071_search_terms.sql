-- The distinct word stems of each text (pipeline.search.doc_terms) as CRC-32 numbers, sorted: the
-- explorer finds every form of a word with list_contains(search_terms, <number of its stem>).
-- Made once at ingest; rows stored before this column are given theirs right after the migration.
ALTER TABLE submissions ADD COLUMN search_terms UINTEGER[];
