-- Search terms as one string of nine-character tokens (a space and the stem number's eight
-- hexadecimal digits, pipeline.search.encode) instead of a list of numbers. DuckDB rewrites the
-- whole row, its text included, when a LIST column of it is updated: the pending step's store of
-- 50,000 classified texts took 2-4 s that way, longer than their classification. A string column
-- is updated in place. A word is found with contains(search_terms, ' 1b24f372'), exactly: every
-- token has nine characters. The signatures (search_b*) describe the same numbers and stay.
-- Uncompressed: the search reads the terms of the rows its Bloom bits let through (up to a tenth
-- of them for a word like "воды"), and decoding DuckDB's FSST strings for them made a search at
-- 1,000,000 rows take 120-125 ms instead of 24-33 (the store is about 1.6 times as large there).
-- A new column, not ALTER TYPE: only a new column can be given its compression.
ALTER TABLE submissions ADD COLUMN search_terms_text VARCHAR USING COMPRESSION uncompressed;
UPDATE submissions SET search_terms_text =
    CASE WHEN search_terms IS NULL THEN NULL
         ELSE array_to_string(list_transform(search_terms, lambda t: printf(' %08x', t)), '') END
    WHERE search_terms IS NOT NULL;
ALTER TABLE submissions DROP COLUMN search_terms;
ALTER TABLE submissions RENAME COLUMN search_terms_text TO search_terms;
