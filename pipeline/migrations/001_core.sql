-- Core schema. Timestamps are TIMESTAMPTZ (instants); display converts to local time.
CREATE TABLE meta (
    key VARCHAR PRIMARY KEY,
    value VARCHAR
);

CREATE SEQUENCE submissions_id_seq;
CREATE TABLE submissions (
    id BIGINT PRIMARY KEY DEFAULT nextval('submissions_id_seq'),
    source VARCHAR NOT NULL,              -- hotline_109, qr, web, import
    source_id VARCHAR NOT NULL,           -- unique per source; content hash when the source has none
    received_at TIMESTAMPTZ NOT NULL,
    text VARCHAR NOT NULL,
    language VARCHAR,                     -- ru, kk, mixed
    region VARCHAR,                       -- code from data/districts.csv
    district VARCHAR,                     -- code from data/districts.csv
    address VARCHAR,
    lat DOUBLE,
    lon DOUBLE,
    placement VARCHAR,                    -- QR placement code the submission came through
    contact VARCHAR,                      -- personal data: phone, name; mask on display
    category VARCHAR,
    category_confidence DOUBLE,
    category_source VARCHAR,              -- model or operator
    priority VARCHAR,                     -- emergency, high, normal
    status VARCHAR NOT NULL DEFAULT 'new',
    department VARCHAR,
    feedback_due_at TIMESTAMPTZ,
    feedback_at TIMESTAMPTZ,
    due_at TIMESTAMPTZ,
    due_extended BOOLEAN DEFAULT false,
    resolved_at TIMESTAMPTZ,              -- closed by the department
    resident_confirmed_at TIMESTAMPTZ,    -- the resident confirmed it is fixed
    forwarded_to VARCHAR,
    ingest_run_id BIGINT,
    UNIQUE (source, source_id)
);

-- Append-only: every change to a submission's state. 'created' carries the initial state as JSON.
CREATE SEQUENCE events_id_seq;
CREATE TABLE events (
    id BIGINT DEFAULT nextval('events_id_seq'),
    submission_id BIGINT NOT NULL,
    happened_at TIMESTAMPTZ NOT NULL,
    actor VARCHAR NOT NULL,
    field VARCHAR NOT NULL,
    old VARCHAR,
    new VARCHAR,
    comment VARCHAR
);

CREATE SEQUENCE ingest_runs_id_seq;
CREATE TABLE ingest_runs (
    id BIGINT PRIMARY KEY DEFAULT nextval('ingest_runs_id_seq'),
    spool_id VARCHAR UNIQUE,              -- the spool file applied; makes draining idempotent
    file VARCHAR NOT NULL,
    checksum VARCHAR,
    source VARCHAR,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    read_count BIGINT,
    inserted_count BIGINT,
    duplicate_count BIGINT,
    quarantined_count BIGINT
);

CREATE SEQUENCE quarantine_id_seq;
CREATE TABLE quarantine (
    id BIGINT DEFAULT nextval('quarantine_id_seq'),
    ingest_run_id BIGINT,
    file VARCHAR NOT NULL,
    record_no BIGINT,                     -- line (CSV) or record number, 1-based
    raw VARCHAR,
    reason VARCHAR NOT NULL
);
