-------------------------------------------------------------------------------
-- Migration state.  Everything the migration records about itself lives in
-- schema nextcrm_migration, readable only by the migration's owner and the
-- roles it grants (the error table holds customer documents).
-------------------------------------------------------------------------------
CREATE SCHEMA nextcrm_migration;
REVOKE ALL ON SCHEMA nextcrm_migration FROM PUBLIC;

-- How far the run and each collection got, one label per outcome: pending
-- (a collection not started yet), running (the run's worker; a collection
-- being loaded), stopped (the run was interrupted: calling it again
-- resumes), done, failed (the run: a collection failed or the worker
-- stopped on an error; a collection: its dump file is damaged or
-- unreadable) and skipped (a collection referencing a failed one).
CREATE TYPE nextcrm_migration.state AS ENUM
    ('pending', 'running', 'stopped', 'done', 'failed', 'skipped');

-- The one migration of this database: which server it reads and where it is.
CREATE TABLE nextcrm_migration.run (
    singleton bool PRIMARY KEY DEFAULT true CHECK (singleton),
    server name NOT NULL,
    -- The profile the run migrates with (share/extension/nextcrm_mongo_fdw/
    -- profiles/<name>); a resume with another one is refused.
    profile text NOT NULL DEFAULT 'nextcrm',
    status nextcrm_migration.state NOT NULL
        CHECK (status IN ('running', 'stopped', 'done', 'failed')),
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    worker_pid int,
    message text,
    -- Collections of a dump that are not NextCRM collections: not migrated.
    unmapped_collections text[],
    -- junction_stage rows up to this id are in the junction tables already
    -- (a retry stages more and builds only those).
    junctions_built_upto bigint NOT NULL DEFAULT 0,
    -- Where the workers' time went, summed over the runs (each collection's
    -- batches: checkpoint.*_seconds): all of it, setting up (schema, the
    -- source's counts, dropping the indexes it defers), building the
    -- deferred indexes, and finishing (junction tables, restored references).
    seconds double precision NOT NULL DEFAULT 0,
    setup_seconds double precision NOT NULL DEFAULT 0,
    index_seconds double precision NOT NULL DEFAULT 0,
    finish_seconds double precision NOT NULL DEFAULT 0,
    -- adding the deferred foreign keys back (validating each): a stage of
    -- its own, as pg_restore's last one, not folded into index_seconds.
    foreign_key_seconds double precision NOT NULL DEFAULT 0
);

-- One row per source collection: its place in dependency order and how far
-- the migration got.  Updated in the same transaction as each batch.
CREATE TABLE nextcrm_migration.checkpoint (
    collection text PRIMARY KEY,
    position int NOT NULL UNIQUE,
    -- failed: its dump file is damaged or unreadable (message says where);
    -- skipped: a collection it references failed (message names it).
    phase nextcrm_migration.state NOT NULL DEFAULT 'pending'
        CHECK (phase IN ('pending', 'running', 'done', 'failed', 'skipped')),
    source_total bigint,
    processed bigint NOT NULL DEFAULT 0,
    migrated bigint NOT NULL DEFAULT 0,
    failed bigint NOT NULL DEFAULT 0,
    repaired bigint NOT NULL DEFAULT 0,
    batches int NOT NULL DEFAULT 0,
    last_id text,
    seconds double precision NOT NULL DEFAULT 0,
    -- From the first time a run opened its source to its last batch's commit.
    started_at timestamptz,
    finished_at timestamptz,
    message text,
    -- Where its batches' time went (monotonic clock, summed per batch over
    -- every run): reading the source, converting documents to rows, looking
    -- up the ids its references name, loading (the INSERTs, with
    -- PostgreSQL's foreign-key triggers, which fire as each statement ends),
    -- and each batch's checkpoint and COMMIT.  They add up to at most
    -- finished_at - started_at.
    read_seconds double precision NOT NULL DEFAULT 0,
    convert_seconds double precision NOT NULL DEFAULT 0,
    check_seconds double precision NOT NULL DEFAULT 0,
    load_seconds double precision NOT NULL DEFAULT 0,
    commit_seconds double precision NOT NULL DEFAULT 0
);

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

-- One row per committed batch; the calling session turns each into a NOTICE.
CREATE TABLE nextcrm_migration.batch_log (
    id bigserial PRIMARY KEY,
    collection text NOT NULL,
    batch int NOT NULL,
    documents int NOT NULL,
    processed bigint NOT NULL,
    total bigint NOT NULL,
    failed bigint NOT NULL,
    overall_processed bigint NOT NULL,
    overall_total bigint NOT NULL,
    docs_per_second double precision NOT NULL,
    eta_seconds double precision NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Every document that did not arrive, with why and the document itself,
-- exactly (canonical Extended JSON; README, "Secrets").
CREATE TABLE nextcrm_migration.errors (
    id bigserial PRIMARY KEY,
    collection text NOT NULL,
    source_id text NOT NULL,
    field text,
    sqlstate text NOT NULL,
    message text NOT NULL,
    detail text,
    context text,
    document jsonb,
    batch int,
    at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX ON nextcrm_migration.errors (collection, source_id);

-- Every value the migration changed to make a document fit: a dangling
-- reference set to NULL, a dropped list element, a default filled in, a
-- legacy value converted, a comment routed to its CRM task.
CREATE TABLE nextcrm_migration.repairs (
    id bigserial PRIMARY KEY,
    collection text NOT NULL,
    source_id text NOT NULL,
    field text NOT NULL,
    kind text NOT NULL,
    original text,
    replacement text,
    batch int,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- A dangling reference (kind dangling_ref) whose target arrived later
    -- (nextcrm_retry_errors) and was put back: when.  NULL: still as
    -- recorded.
    resolved_at timestamptz
);
CREATE INDEX ON nextcrm_migration.repairs (collection, source_id);
-- The dangling references not put back yet, which restore_references()
-- reads at the end of every complete run: most runs have few or none.
CREATE INDEX ON nextcrm_migration.repairs (collection, source_id)
    WHERE kind = 'dangling_ref' AND resolved_at IS NULL;

-- Keys found in documents that the schema does not know (legacy keys).
CREATE TABLE nextcrm_migration.extra_keys (
    collection text NOT NULL,
    source_id text NOT NULL,
    keys jsonb NOT NULL,
    PRIMARY KEY (collection, source_id)
);

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

-- `_id`s that are not ObjectIds, whose UUIDs cannot be reversed by layout.
CREATE TABLE nextcrm_migration.foreign_ids (
    collection text NOT NULL,
    id uuid NOT NULL,
    source_id jsonb NOT NULL,
    PRIMARY KEY (collection, id)
);

-- Elements of list-backed relations, staged per batch and turned into the
-- junction tables once both sides are loaded.
CREATE TABLE nextcrm_migration.junction_stage (
    id bigserial PRIMARY KEY,
    junction text NOT NULL,
    a uuid NOT NULL,
    b uuid NOT NULL,
    collection text NOT NULL,
    source_id text NOT NULL,
    field text NOT NULL,
    element text NOT NULL
);
-- A document's staged elements, for restore_references() and
-- reset_collections(), which look them up from repair rows.
CREATE INDEX ON nextcrm_migration.junction_stage (collection, source_id);

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

REVOKE ALL ON ALL TABLES IN SCHEMA nextcrm_migration FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA nextcrm_migration FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.junction_stage', '');

-- pg_dump keeps the migration's record with the data.
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.run', '');
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.checkpoint', '');
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.errors', '');
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.oplog_applied', '');
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.repairs', '');
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.extra_keys', '');
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.kept_aside', '');
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.value_map', '');
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.foreign_ids', '');
-- A stopped run's dropped indexes are known only here: a target dumped and
-- restored before the run resumes must still build them.
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.deferred_index', '');
-- The same for its dropped foreign keys.
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.deferred_constraint', '');
-- The record's serial ids go with its rows: restored without them, the next
-- run's error, repair and staged-element ids start again at 1 and collide
-- with the restored rows (a stopped target dumped and restored could not be
-- resumed: "duplicate key value violates unique constraint").
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.errors_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.repairs_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.junction_stage_id_seq', '');
