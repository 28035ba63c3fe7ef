-- The period metrics (deadlines page, briefing) from the rollups instead of every row: at 10
-- million submissions they took 0.8-1.3 s for all time, three exact quantiles and a count of each
-- row. rollup_daily gains the counts that do not change with the clock; rollup_durations keeps how
-- many cases took each counted duration (pipeline.metrics.counted_minutes) to feedback and to
-- resolution, per local month and region. Emptied: the next refresh counts all.
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
    feedback_in_time BIGINT NOT NULL,
    resolved BIGINT NOT NULL,          -- resolved_at set
    resolved_in_time BIGINT NOT NULL,  -- resolved_at <= due_at
    closed_unresolved BIGINT NOT NULL, -- not open, feedback given, not resolved (rejected, forwarded)
    reopened BIGINT NOT NULL,          -- in reopened_cases
    ever_resolved BIGINT NOT NULL      -- resolved now or reopened
);
CREATE TABLE rollup_durations (
    month DATE NOT NULL,               -- local month of registration
    region VARCHAR,
    measure VARCHAR NOT NULL,          -- 'feedback' or 'resolution'
    minutes BIGINT NOT NULL,           -- pipeline.metrics.counted_minutes
    n BIGINT NOT NULL
);
DELETE FROM meta WHERE key LIKE 'rollup_%';
