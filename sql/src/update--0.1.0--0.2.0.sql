-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION nextcrm_mongo_fdw UPDATE TO '0.2.0'" to load this file. \quit

-- From 0.1.0 to 0.2.0: the run's status and each collection's phase become
-- one enum, nextcrm_migration.state (record.sql), with one label per
-- outcome: a run's 'complete' is now 'done', a collection's 'loading' now
-- 'running'.  The progress view (progress.sql) and the validator
-- (validate.sql, every function CREATE OR REPLACE) follow this part.
CREATE TYPE nextcrm_migration.state AS ENUM
    ('pending', 'running', 'stopped', 'done', 'failed', 'skipped');

-- The CHECKs compare with text and the view reads the column: both go
-- before the column changes type and come back after.
DROP VIEW nextcrm_migration.progress;

ALTER TABLE nextcrm_migration.run DROP CONSTRAINT run_status_check;
ALTER TABLE nextcrm_migration.run
    ALTER COLUMN status TYPE nextcrm_migration.state
        USING (CASE status WHEN 'complete' THEN 'done' ELSE status END)::nextcrm_migration.state;
ALTER TABLE nextcrm_migration.run
    ADD CONSTRAINT run_status_check CHECK (status IN ('running', 'stopped', 'done', 'failed'));

ALTER TABLE nextcrm_migration.checkpoint DROP CONSTRAINT checkpoint_phase_check;
ALTER TABLE nextcrm_migration.checkpoint ALTER COLUMN phase DROP DEFAULT;
ALTER TABLE nextcrm_migration.checkpoint
    ALTER COLUMN phase TYPE nextcrm_migration.state
        USING (CASE phase WHEN 'loading' THEN 'running' ELSE phase END)::nextcrm_migration.state;
ALTER TABLE nextcrm_migration.checkpoint ALTER COLUMN phase SET DEFAULT 'pending';
ALTER TABLE nextcrm_migration.checkpoint
    ADD CONSTRAINT checkpoint_phase_check
        CHECK (phase IN ('pending', 'running', 'done', 'failed', 'skipped'));
