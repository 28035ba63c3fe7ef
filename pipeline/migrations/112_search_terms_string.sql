-- Search terms as one string of nine-character tokens (a space and the stem number's eight
-- hexadecimal digits, pipeline.search.encode) instead of a list of numbers. DuckDB rewrites the
-- whole row, its text included, when a LIST column of it is updated: the pending step's store of
-- 50,000 classified texts took 2-4 s that way, longer than their classification. A string column
-- is updated in place. A word is found with contains(search_terms, ' 1b24f372'), exactly: every
-- token has nine characters. The signatures (search_b*) describe the same numbers and stay.
ALTER TABLE submissions ALTER search_terms TYPE VARCHAR USING
    CASE WHEN search_terms IS NULL THEN NULL
         ELSE array_to_string(list_transform(search_terms, lambda t: printf(' %08x', t)), '') END;
