-- rollup_daily added up per local month: at national scale (200 districts, 19 categories) a day
-- holds few submissions per cell, so the daily table of two years is nearly as long as the rows
-- of a region; figures over long periods (all time, a year) read their whole months here and only
-- their odd days in rollup_daily (pipeline.rollup.cells). Filled from rollup_daily as it stands.
CREATE TABLE rollup_monthly (
    month DATE NOT NULL,
    region VARCHAR,
    district VARCHAR,
    category VARCHAR NOT NULL,
    operator BOOLEAN NOT NULL,
    below BOOLEAN NOT NULL,
    unscored BOOLEAN NOT NULL,
    pending BOOLEAN NOT NULL,
    n BIGINT NOT NULL,
    feedback_given BIGINT NOT NULL,
    feedback_in_time BIGINT NOT NULL,
    resolved BIGINT NOT NULL,
    resolved_in_time BIGINT NOT NULL,
    closed_unresolved BIGINT NOT NULL,
    reopened BIGINT NOT NULL,
    ever_resolved BIGINT NOT NULL
);
INSERT INTO rollup_monthly
SELECT CAST(date_trunc('month', day) AS DATE), region, district, category, operator, below, unscored, pending,
       sum(n), sum(feedback_given), sum(feedback_in_time), sum(resolved), sum(resolved_in_time),
       sum(closed_unresolved), sum(reopened), sum(ever_resolved)
FROM rollup_daily GROUP BY ALL;
