-- A big file is stored in batches, one spool folder each (pipeline.ingest.prepare_batches). The
-- batch's key (file checksum, source, batch size, batch number) is recorded with its run, so the
-- same batch spooled again (a re-run of the file after a crash half-way, or by mistake) adds
-- neither rows nor quarantine records a second time.
ALTER TABLE ingest_runs ADD COLUMN batch_key VARCHAR;
