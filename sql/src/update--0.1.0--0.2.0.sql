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

-- Where the time goes (checkpoint.*_seconds, run.*_seconds).
ALTER TABLE nextcrm_migration.run
    ADD COLUMN seconds double precision NOT NULL DEFAULT 0,
    ADD COLUMN setup_seconds double precision NOT NULL DEFAULT 0,
    ADD COLUMN index_seconds double precision NOT NULL DEFAULT 0,
    ADD COLUMN finish_seconds double precision NOT NULL DEFAULT 0,
    ADD COLUMN foreign_key_seconds double precision NOT NULL DEFAULT 0;
ALTER TABLE nextcrm_migration.checkpoint
    ADD COLUMN read_seconds double precision NOT NULL DEFAULT 0,
    ADD COLUMN convert_seconds double precision NOT NULL DEFAULT 0,
    ADD COLUMN check_seconds double precision NOT NULL DEFAULT 0,
    ADD COLUMN load_seconds double precision NOT NULL DEFAULT 0,
    ADD COLUMN commit_seconds double precision NOT NULL DEFAULT 0;

-- Every operation of a mongodump --oplog backup's oplog on the migrated
-- database (applyOps' operations one by one), with what became of it:
-- applied (the document's final state was migrated, or it was deleted),
-- failed (reason: an update not applied, whose document is an error row, or
-- a command that would change documents), or skipped (its collection is not
-- migrated, its transaction had not committed when the oplog ends, or a
-- command that changes no document).  Written with the batch that
-- reads the document, so a resumed run records nothing twice.  The _id is
-- exact, as in errors: as private as the target.
CREATE TABLE nextcrm_migration.oplog_applied (
    position bigint PRIMARY KEY,
    ts text NOT NULL,
    op text NOT NULL,
    collection text NOT NULL,
    source_id text,
    outcome text NOT NULL CHECK (outcome IN ('applied', 'failed', 'skipped')),
    reason text,
    batch int,
    at timestamptz NOT NULL DEFAULT clock_timestamp()
);
REVOKE ALL ON nextcrm_migration.oplog_applied FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.oplog_applied', '');

-- What has no place in the target, kept exactly with the profile's reason: a
-- whole document of a collection the target lacks (field NULL), or a field
-- the target dropped ({"key": value}).  Canonical Extended JSON, as private
-- as the errors (README, "Secrets").
CREATE TABLE nextcrm_migration.kept_aside (
    collection text NOT NULL,
    source_id text NOT NULL,
    field text,
    reason text NOT NULL,
    document jsonb NOT NULL,
    batch int
);
CREATE INDEX ON nextcrm_migration.kept_aside (collection, source_id);

-- The operator's value maps, read when a run starts: a row here takes
-- precedence over the profile's value-maps.csv row of the same map and
-- from (compared case folded).  See the profile's README for its maps.
CREATE TABLE nextcrm_migration.value_map (
    map text NOT NULL,
    from_value text NOT NULL,
    to_value text NOT NULL CHECK (to_value <> '')
);
CREATE UNIQUE INDEX ON nextcrm_migration.value_map (map, lower(from_value));

REVOKE ALL ON nextcrm_migration.kept_aside, nextcrm_migration.value_map FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.kept_aside', '');
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.value_map', '');

-- Functions whose arguments or result columns changed, which CREATE OR
-- REPLACE cannot change: dropped here and created again by the sources that
-- follow (migrate.sql: the migration takes app_dir; validate.sql: a mapping
-- row has the lookup columns).  The migration's are created without EXECUTE
-- for PUBLIC, as on a fresh install; a role granted EXECUTE on the old ones
-- must be granted it again.
DROP FUNCTION nextcrm_mapping(text);
DROP FUNCTION nextcrm_migrate_all(name, boolean, text);
DROP FUNCTION nextcrm_migrate_table(name, text, boolean, text);
DROP FUNCTION nextcrm_retry_errors(name, text);

-- Non-unique indexes of the target tables that a run dropped before its
-- batches (each batch would otherwise maintain them row by row) and builds
-- again, one by one, once its batches are over, as pg_restore builds a
-- dump's indexes after its data.  A run that stops first leaves the rest
-- here; the next run builds them.
CREATE TABLE nextcrm_migration.deferred_index (
    name text PRIMARY KEY,      -- the index, in the target schema
    table_name text NOT NULL,
    definition text NOT NULL    -- pg_get_indexdef(), schema-qualified
);

-- The target's foreign keys a run drops before its batches (the columns its
-- reference check decides, src/migrate_keys.hpp) and adds back, validated,
-- one by one once its batches are over, as pg_restore adds a dump's keys
-- after its data and indexes.  A run that stops first, or whose key a row
-- breaks, leaves the rest here; the next run adds them.
CREATE TABLE nextcrm_migration.deferred_constraint (
    name text NOT NULL,         -- the key, on table_name in the target schema
    table_name text NOT NULL,
    definition text NOT NULL,   -- pg_get_constraintdef(), schema-qualified
    PRIMARY KEY (table_name, name)
);

REVOKE ALL ON nextcrm_migration.deferred_constraint FROM PUBLIC;
-- A stopped run's dropped keys are known only here: pg_dump keeps them with
-- the rest of the record.
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.deferred_constraint', '');

REVOKE ALL ON nextcrm_migration.deferred_index FROM PUBLIC;
-- A stopped run's dropped indexes are known only here: pg_dump keeps them
-- with the rest of the record.
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.deferred_index', '');

-- The record's serial ids go with its rows: restored without them, the next
-- run's error, repair and staged-element ids start again at 1 and collide
-- with the restored rows (a stopped target dumped and restored could not be
-- resumed: "duplicate key value violates unique constraint").
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.errors_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.repairs_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.junction_stage_id_seq', '');
