-- live_cases held every case without a feedback time, open or closed: a store imported from a
-- call centre's history that has none (a common export) was all live, 10,000,000 rows at national
-- scale, and every open, overdue and feedback figure read all of them (the overdue list 160 ms,
-- the period metrics 160 ms). A closed case whose feedback deadline passed before a cutoff (kept
-- in meta, rollup_lapsed_before) can no longer change with the clock: it is counted here, as
-- feedback_lapsed, and stays out of live_cases. closed_unresolved now counts the closed,
-- unresolved cases outside live_cases (feedback given, or lapsed). Emptied: the next refresh
-- counts all (the rollup layout's version moves to 111).
ALTER TABLE rollup_daily ADD COLUMN feedback_lapsed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_monthly ADD COLUMN feedback_lapsed BIGINT NOT NULL DEFAULT 0;
DELETE FROM rollup_daily;
DELETE FROM rollup_monthly;
DELETE FROM live_cases;
DELETE FROM meta WHERE key LIKE 'rollup_%';
