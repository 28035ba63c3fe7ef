-- Search terms as one string of six-character tokens (the stem number's five base-85 digits, '!'
-- to 'u', and a space, pipeline.search.encode) instead of a list of numbers. DuckDB rewrites the
-- whole row, its text included, when a LIST column of it is updated: the pending step's store of
-- 50,000 classified texts took 2-4 s that way, longer than their classification. A string column
-- is updated in place. A word is found with contains(search_terms, ')^P#q '), exactly: every
-- token has six characters and only its last is a space (last: contains() looks for a needle's
-- first character, and a space first stopped it at every token, 4.5 times slower). The signatures (search_b*) describe the same numbers and stay.
-- Uncompressed: the search reads the terms of the rows its Bloom bits let through (up to a tenth
-- of them for a word like "воды"), and decoding DuckDB's FSST strings for them made a search at
-- 1,000,000 rows take 120-125 ms instead of 24-33. Six bytes a number, not nine (hexadecimal):
-- the search's time follows the column's size (10,000,000 rows: 294/599 ms p50/p95 with nine).
-- A new column, not ALTER TYPE: only a new column can be given its compression.
ALTER TABLE submissions ADD COLUMN search_terms_text VARCHAR USING COMPRESSION uncompressed;
UPDATE submissions SET search_terms_text =
    CASE WHEN search_terms IS NULL THEN NULL
         ELSE array_to_string(list_transform(search_terms, lambda t:
              chr(CAST(33 + (t // 52200625) % 85 AS INTEGER)) || chr(CAST(33 + (t // 614125) % 85 AS INTEGER))
              || chr(CAST(33 + (t // 7225) % 85 AS INTEGER)) || chr(CAST(33 + (t // 85) % 85 AS INTEGER))
              || chr(CAST(33 + t % 85 AS INTEGER)) || ' '), '') END
    WHERE search_terms IS NOT NULL;
ALTER TABLE submissions DROP COLUMN search_terms;
ALTER TABLE submissions RENAME COLUMN search_terms_text TO search_terms;
