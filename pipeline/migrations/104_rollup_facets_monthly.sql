-- The same per calendar month (of `day`): a period of whole months reads these, its odd days the daily rows.
CREATE TABLE rollup_facets_monthly (
    month DATE NOT NULL,               -- first day of the month
    region VARCHAR,
    district VARCHAR,
    category VARCHAR NOT NULL,
    operator BOOLEAN NOT NULL,
    below BOOLEAN NOT NULL,
    unscored BOOLEAN NOT NULL,
    pending BOOLEAN NOT NULL,
    facet VARCHAR NOT NULL,
    value VARCHAR,
    n BIGINT NOT NULL
);
DELETE FROM meta WHERE key LIKE 'rollup_%';  -- the next refresh builds it
