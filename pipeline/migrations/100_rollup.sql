-- Daily counts per territory and category, kept by pipeline.rollup so overview and wall figures over
-- long periods read a few hundred thousand rows instead of every submission.
CREATE TABLE rollup_daily (
    day DATE NOT NULL,                 -- local day of received_at (the store's time zone)
    region VARCHAR,
    district VARCHAR,
    category VARCHAR NOT NULL,         -- coalesce(category, 'other'), as every screen counts it
    operator BOOLEAN NOT NULL,         -- the category was set or confirmed by an operator
    below BOOLEAN NOT NULL,            -- category_confidence < the review threshold it was built with
    unscored BOOLEAN NOT NULL,         -- category_confidence is NULL
    n BIGINT NOT NULL,                 -- at least 1: a row exists only for rows counted
    feedback_given BIGINT NOT NULL,    -- feedback_at is set
    feedback_in_time BIGINT NOT NULL   -- feedback_at <= feedback_due_at
);
