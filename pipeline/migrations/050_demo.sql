-- Demo data only: the generating category (to measure the classifier) and the planted surges
-- (to measure surge detection).
CREATE TABLE demo_truth (
    submission_id BIGINT PRIMARY KEY,
    category VARCHAR NOT NULL
);

CREATE TABLE demo_surges (
    category VARCHAR NOT NULL,
    district VARCHAR NOT NULL,
    start_at TIMESTAMPTZ NOT NULL,
    end_at TIMESTAMPTZ NOT NULL,
    extra_count INTEGER NOT NULL,
    story VARCHAR
);
