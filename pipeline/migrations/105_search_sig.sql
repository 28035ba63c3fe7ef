-- A 64-bit signature of each text's search terms: bit (term % 64) set for each of them. The explorer
-- tests a word's bits first and looks into search_terms only where they are set (about a third of
-- the rows for a two-reading word). NULL until the writer's next refresh fills it
-- (pipeline.queries.textsearch.sign); a NULL signature never excludes a row.
ALTER TABLE submissions ADD COLUMN search_sig UBIGINT;
