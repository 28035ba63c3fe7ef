-- Demo data only: the planted backlog a guided demo points at. Hot spots are a category in a
-- district whose cases stopped being resolved some weeks before the demo's end (most of the
-- overdue cases are there); forgotten cases are the only ones left open for months.
CREATE TABLE demo_hotspots (
    category VARCHAR NOT NULL,
    district VARCHAR NOT NULL,
    department VARCHAR,
    start_at TIMESTAMPTZ NOT NULL,
    end_at TIMESTAMPTZ NOT NULL,
    stuck_cases INTEGER NOT NULL,
    story VARCHAR
);

CREATE TABLE demo_forgotten (
    submission_id BIGINT PRIMARY KEY,
    category VARCHAR,
    district VARCHAR,
    received_at TIMESTAMPTZ NOT NULL,
    status VARCHAR NOT NULL,
    story VARCHAR
);
