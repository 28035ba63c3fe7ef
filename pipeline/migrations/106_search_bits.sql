-- Search signatures for real-length texts. The one 64-bit signature of 105 had 38 of its 64 bits set
-- at 300-400 characters (about 60 stems a text), so it let 60-87 % of the rows through to the term
-- lists. Twelve columns instead (pipeline.queries.textsearch): 0-3 one exact bit for each of the 256
-- most frequent stems (data/search_top_stems.csv), 4-11 a blocked Bloom filter of the others.
-- NULL until the writer's next refresh signs the row (textsearch.sign); a row without them is found
-- by its terms or its text instead.
ALTER TABLE submissions DROP COLUMN search_sig;
ALTER TABLE submissions ADD COLUMN search_b0 UBIGINT;
ALTER TABLE submissions ADD COLUMN search_b1 UBIGINT;
ALTER TABLE submissions ADD COLUMN search_b2 UBIGINT;
ALTER TABLE submissions ADD COLUMN search_b3 UBIGINT;
ALTER TABLE submissions ADD COLUMN search_b4 UBIGINT;
ALTER TABLE submissions ADD COLUMN search_b5 UBIGINT;
ALTER TABLE submissions ADD COLUMN search_b6 UBIGINT;
ALTER TABLE submissions ADD COLUMN search_b7 UBIGINT;
ALTER TABLE submissions ADD COLUMN search_b8 UBIGINT;
ALTER TABLE submissions ADD COLUMN search_b9 UBIGINT;
ALTER TABLE submissions ADD COLUMN search_b10 UBIGINT;
ALTER TABLE submissions ADD COLUMN search_b11 UBIGINT;
