-- The live cases: a copy of the submissions that are open or still await feedback, the only rows
-- whose figures change with the clock (overdue, feedback late). Kept by pipeline.rollup with
-- rollup_daily, so that open and overdue counts read about 1-2 % of the rows instead of all of them.
-- Only the columns those queries filter on; texts and personal data stay in submissions.
CREATE TABLE live_cases (
    id BIGINT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    source VARCHAR,
    language VARCHAR,
    region VARCHAR,
    district VARCHAR,
    placement VARCHAR,
    category VARCHAR,
    category_confidence DOUBLE,
    category_source VARCHAR,
    priority VARCHAR,
    status VARCHAR NOT NULL,
    department VARCHAR,
    feedback_due_at TIMESTAMPTZ,
    feedback_at TIMESTAMPTZ,
    due_at TIMESTAMPTZ,
    resolved_at TIMESTAMPTZ,
    resident_confirmed_at TIMESTAMPTZ
);
DELETE FROM meta WHERE key LIKE 'rollup_%';  -- the next refresh builds both from the submissions
