-- The cases ever reopened (a 'status' event to 'reopened'), one row each: the reopen rate's
-- numerator without reading the whole event log (at 10 million submissions and 64 million events,
-- finding them took 220 ms of every period-metrics query, whatever its filter). Kept by
-- pipeline.rollup from the event log with the other rollups, and read only when they are fresh.
CREATE TABLE reopened_cases (
    submission_id BIGINT NOT NULL
);
-- Filled here from the log as it stands; events written after the rollup's last refresh are added
-- by the next one (it reads events newer than the rollup's), so no full rebuild is needed.
INSERT INTO reopened_cases
SELECT DISTINCT submission_id FROM events WHERE field = 'status' AND new = 'reopened';
