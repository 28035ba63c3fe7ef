-- rollup_daily keeps rows stored but not yet classified (category_source 'pending') apart, so that
-- category shares can leave them out as the submissions path does. Emptied: the next refresh counts all.
DROP TABLE rollup_daily;
CREATE TABLE rollup_daily (
    day DATE NOT NULL,
    region VARCHAR,
    district VARCHAR,
    category VARCHAR NOT NULL,
    operator BOOLEAN NOT NULL,
    below BOOLEAN NOT NULL,
    unscored BOOLEAN NOT NULL,
    pending BOOLEAN NOT NULL,          -- stored, not yet classified (pipeline.pending)
    n BIGINT NOT NULL,
    feedback_given BIGINT NOT NULL,
    feedback_in_time BIGINT NOT NULL
);
DELETE FROM meta WHERE key LIKE 'rollup_%';
