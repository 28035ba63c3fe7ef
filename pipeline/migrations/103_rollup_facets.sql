-- Daily counts of the explorer's facets that rollup_daily lacks (source, language, status,
-- department, placement, confirmed), per the same cells, kept by pipeline.rollup: the explorer's
-- facet counts over long periods read a few million rows instead of every submission.
CREATE TABLE rollup_facets (
    day DATE NOT NULL,
    region VARCHAR,
    district VARCHAR,
    category VARCHAR NOT NULL,
    operator BOOLEAN NOT NULL,
    below BOOLEAN NOT NULL,
    unscored BOOLEAN NOT NULL,
    pending BOOLEAN NOT NULL,
    facet VARCHAR NOT NULL,            -- source, language, status, department, placement, confirmed
    value VARCHAR,                     -- as the explorer's filter takes it ('1'/'0' for confirmed)
    n BIGINT NOT NULL
);
DELETE FROM meta WHERE key LIKE 'rollup_%';  -- the next refresh builds every rollup from the submissions
