-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION nextcrm_mongo_fdw" to load this file. \quit

CREATE FUNCTION nextcrm_mongo_fdw_handler()
RETURNS fdw_handler
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FUNCTION nextcrm_mongo_fdw_validator(text[], oid)
RETURNS void
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  HANDLER nextcrm_mongo_fdw_handler
  VALIDATOR nextcrm_mongo_fdw_validator;

CREATE FUNCTION nextcrm_mongo_fdw_version()
RETURNS text
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT STABLE;

COMMENT ON FUNCTION nextcrm_mongo_fdw_version() IS
  'versions of the extension, libmongoc, libbson and the PostgreSQL server';

-- Lists the collections of a live MongoDB server or a dump directory with their
-- document counts.
CREATE FUNCTION nextcrm_mongo_collections(server name,
                                          OUT collection text, OUT documents bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

-- Reaching the source runs with the caller's user mapping; the function itself
-- is no secret, but keep it to roles that were granted it.
REVOKE ALL ON FUNCTION nextcrm_mongo_collections(name) FROM PUBLIC;

-- ObjectId -> UUID, deterministic and reversible (layout in src/core/oid_uuid.hpp):
-- a UUIDv7 whose time is the ObjectId's creation second.  24 hex digits are an
-- ObjectId; any other text is taken as a string _id (name-based UUID).
CREATE FUNCTION nextcrm_map_oid(text)
RETURNS uuid
AS 'MODULE_PATHNAME'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- The inverse for ObjectId-derived UUIDs; an error for any other UUID.
CREATE FUNCTION nextcrm_unmap_oid(uuid)
RETURNS text
AS 'MODULE_PATHNAME'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-------------------------------------------------------------------------------
-- Migration state.  Everything the migration records about itself lives in
-- schema nextcrm_migration, readable only by the migration's owner and the
-- roles it grants (the error table holds customer documents).
-------------------------------------------------------------------------------
CREATE SCHEMA nextcrm_migration;
REVOKE ALL ON SCHEMA nextcrm_migration FROM PUBLIC;

-- The one migration of this database: which server it reads and where it is.
CREATE TABLE nextcrm_migration.run (
    singleton bool PRIMARY KEY DEFAULT true CHECK (singleton),
    server name NOT NULL,
    -- The profile the run migrates with (share/extension/nextcrm_mongo_fdw/
    -- profiles/<name>); a resume with another one is refused.
    profile text NOT NULL DEFAULT 'nextcrm',
    status text NOT NULL CHECK (status IN ('running', 'stopped', 'complete', 'failed')),
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
    finish_seconds double precision NOT NULL DEFAULT 0
);

-- One row per source collection: its place in dependency order and how far
-- the migration got.  Updated in the same transaction as each batch.
CREATE TABLE nextcrm_migration.checkpoint (
    collection text PRIMARY KEY,
    position int NOT NULL UNIQUE,
    -- failed: its dump file is damaged or unreadable (message says where);
    -- skipped: a collection it references failed (message names it).
    phase text NOT NULL DEFAULT 'pending'
        CHECK (phase IN ('pending', 'loading', 'done', 'failed', 'skipped')),
    source_total bigint,
    processed bigint NOT NULL DEFAULT 0,
    migrated bigint NOT NULL DEFAULT 0,
    failed bigint NOT NULL DEFAULT 0,
    repaired bigint NOT NULL DEFAULT 0,
    batches int NOT NULL DEFAULT 0,
    last_id text,
    seconds double precision NOT NULL DEFAULT 0,
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
    commit_seconds double precision NOT NULL DEFAULT 0,
    -- From the first time a run opened its source to its last batch's commit.
    started_at timestamptz,
    finished_at timestamptz,
    message text
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

-- Progress as another session sees it while the migration runs.
CREATE VIEW nextcrm_migration.progress AS
SELECT c.collection,
       c.phase,
       c.source_total,
       c.processed,
       round(100.0 * c.processed / nullif(c.source_total, 0), 1) AS percent,
       c.migrated,
       c.failed,
       c.repaired,
       round(c.seconds::numeric, 3) AS seconds,
       round((c.processed / nullif(c.seconds, 0))::numeric, 0) AS docs_per_second,
       CASE WHEN c.phase = 'loading' AND c.processed > 0
            THEN make_interval(secs => (c.source_total - c.processed) * c.seconds / c.processed)
       END AS eta
  FROM nextcrm_migration.checkpoint c
 ORDER BY c.position;

REVOKE ALL ON ALL TABLES IN SCHEMA nextcrm_migration FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA nextcrm_migration FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.junction_stage', '');

-- pg_dump keeps the migration's record with the data.
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.run', '');
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.checkpoint', '');
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.errors', '');
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.repairs', '');
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.extra_keys', '');
SELECT pg_catalog.pg_extension_config_dump('nextcrm_migration.foreign_ids', '');

-- Migrates every collection of the server's database into the schema of a
-- profile (profile => name of an installed profile, default 'nextcrm';
-- created from the profile's migrations when the database has none),
-- in batches of 1000 that each commit with their checkpoint.  Interrupt it at
-- any time; calling it again resumes.  restart => true starts over.
-- outcome: 'done', 'failed: <why>' (a damaged or unreadable dump file: the
-- documents before the damage are migrated) or 'skipped: depends on failed
-- <collection>'; other states ('pending', 'loading') when it did not finish.
CREATE FUNCTION nextcrm_migrate_all(server name, restart boolean DEFAULT false,
                                    profile text DEFAULT 'nextcrm',
                                    OUT collection text, OUT source_count bigint,
                                    OUT migrated bigint, OUT failed bigint, OUT repaired bigint,
                                    OUT seconds double precision,
                                    OUT docs_per_second double precision,
                                    OUT outcome text)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

-- The same for one collection.
CREATE FUNCTION nextcrm_migrate_table(server name, source_collection text,
                                      restart boolean DEFAULT false,
                                      profile text DEFAULT 'nextcrm',
                                      OUT collection text, OUT source_count bigint,
                                      OUT migrated bigint, OUT failed bigint, OUT repaired bigint,
                                      OUT seconds double precision,
                                      OUT docs_per_second double precision,
                                      OUT outcome text)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

-- After a complete migration: migrates again only the documents listed in the
-- error table (after the data or the mapping was fixed), replacing their
-- error rows with the new outcome.
CREATE FUNCTION nextcrm_retry_errors(server name, profile text DEFAULT 'nextcrm',
                                     OUT collection text, OUT source_count bigint,
                                     OUT migrated bigint, OUT failed bigint, OUT repaired bigint,
                                     OUT seconds double precision,
                                     OUT docs_per_second double precision,
                                     OUT outcome text)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

-- Only superusers and roles granted these functions run a migration; they
-- also need the privileges to write the target tables.
REVOKE ALL ON FUNCTION nextcrm_migrate_all(name, boolean, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION nextcrm_migrate_table(name, text, boolean, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION nextcrm_retry_errors(name, text) FROM PUBLIC;

-------------------------------------------------------------------------------
-- Validation.  nextcrm_validate() compares the target with the MongoDB source
-- read again through the extension (nextcrm_validation_source(), one pass per
-- collection), never the target with itself.  docs/MIGRATING.md explains the
-- report; test/integration/validate.sh plants one defect per check.
-------------------------------------------------------------------------------

-- The parsed mapping of a profile (profiles/<name>/mapping.csv), as the
-- migration reads it.
CREATE FUNCTION nextcrm_mapping(profile text DEFAULT 'nextcrm', OUT collection text, OUT stored_key text, OUT field text,
                                OUT kind text, OUT target_table text, OUT target_column text,
                                OUT owner_column text, OUT pg_type text, OUT ref_model text,
                                OUT on_missing text, OUT missing_value text,
                                OUT mongo_default text, OUT route_model text,
                                OUT route_column text, OUT collection_position int,
                                OUT required boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT IMMUTABLE;

-- The validation rules of a profile (profiles/<name>/rules.csv): date_range
-- rows say that column first_column of table is not after second_column.
CREATE FUNCTION nextcrm_profile_rules(profile text DEFAULT 'nextcrm', OUT rule text,
                                      OUT "table" text, OUT first_column text,
                                      OUT second_column text, OUT rule_position int)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT STABLE;

-- The enums of a profile's MongoDB schema: the labels a value may take.
CREATE FUNCTION nextcrm_mapping_enums(profile text DEFAULT 'nextcrm', OUT enum_type text, OUT label text, OUT label_position int)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT IMMUTABLE;

-- The source as the validator needs it, one pass per collection: kind
-- 'count' (documents), 'id' (source_id = _id as the error table spells it,
-- id = its UUID), 'pair' (collection = junction table; a, b = its A and B)
-- 'sample' (source_id, id, doc = the document as canonical Extended JSON,
-- every number typed) and 'awkward' (source_id, id when readable, doc =
-- {"reason": ...}: a document the validator cannot compare as JSON -- a
-- malformed element, a key that is not UTF-8, nesting past 100 levels, a
-- repeated key, a NUL character) and 'damaged' (a dump file that is
-- truncated, corrupt or unreadable: documents = those read before the damage,
-- doc = {"reason": ...}; the collection's other rows stop there); the sample is sample_size documents per
-- collection, the same for the same seed, never an awkward one; 'rule'
-- (source_id, id, doc = the values of the keys named in rule_keys, entries
-- 'collection.key', that the document holds: what the field rules read).
CREATE FUNCTION nextcrm_validation_source(server name, seed double precision DEFAULT NULL,
                                          sample_size int DEFAULT 100,
                                          profile text DEFAULT 'nextcrm',
                                          rule_keys text[] DEFAULT NULL,
                                          OUT collection text, OUT kind text,
                                          OUT source_id text, OUT id uuid, OUT a uuid, OUT b uuid,
                                          OUT documents bigint, OUT doc jsonb)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;
REVOKE ALL ON FUNCTION nextcrm_validation_source(name, double precision, int, text, text[]) FROM PUBLIC;

-- Helpers reading a relaxed Extended JSON value the way its BSON type means it.
CREATE FUNCTION nextcrm_migration.json_number(v jsonb) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE jsonb_typeof(v)
           WHEN 'number' THEN v::text::numeric
           WHEN 'object' THEN coalesce(v->>'$numberDecimal', v->>'$numberLong',
                                       v->>'$numberInt', v->>'$numberDouble')::numeric
         END
$$;

-- A BSON date: {"$date": "ISO-8601"} or {"$date": {"$numberLong": ms}}, as
-- the UTC timestamp it is.
CREATE FUNCTION nextcrm_migration.json_time(v jsonb) RETURNS timestamp
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
           WHEN jsonb_typeof(v->'$date') = 'string'
             THEN ((v->>'$date')::timestamptz AT TIME ZONE 'UTC')
           WHEN v->'$date' ? '$numberLong'
             THEN timestamp '1970-01-01' + (v->'$date'->>'$numberLong')::bigint * interval '1 millisecond'
         END
$$;

-- An id as a reference holds it ({"$oid": hex} or a 24-hex string) mapped to
-- its UUID.
CREATE FUNCTION nextcrm_migration.json_ref(v jsonb) RETURNS uuid
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
           WHEN jsonb_typeof(v) = 'object' AND v ? '$oid' THEN nextcrm_map_oid(v->>'$oid')
           WHEN jsonb_typeof(v) = 'string' AND v->>0 ~ '^[0-9a-fA-F]{24}$' THEN nextcrm_map_oid(v->>0)
         END
$$;

-- Whether a source value (canonical Extended JSON, every number typed) and
-- the value the migration stored (relaxed Extended JSON) are the same BSON
-- value: numbers compared as numbers by PostgreSQL's own float8 and numeric
-- (a double by its float8 value and sign, so 19.99 written as 19.99 or as
-- 19.989999999999998437 is the same double, and 0.1 is not 0.1000000001),
-- dates as instants, everything else structurally.
CREATE FUNCTION nextcrm_migration.json_same(src jsonb, tgt jsonb) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  k text;
  tnum text;
BEGIN
  IF src IS NULL OR tgt IS NULL THEN
    RETURN src IS NOT DISTINCT FROM tgt;
  END IF;
  IF src = tgt THEN
    RETURN true;
  END IF;
  IF jsonb_typeof(src) = 'array' THEN
    IF jsonb_typeof(tgt) <> 'array' OR jsonb_array_length(src) <> jsonb_array_length(tgt) THEN
      RETURN false;
    END IF;
    FOR i IN 0 .. jsonb_array_length(src) - 1 LOOP
      IF NOT nextcrm_migration.json_same(src -> i, tgt -> i) THEN
        RETURN false;
      END IF;
    END LOOP;
    RETURN true;
  END IF;
  IF jsonb_typeof(src) <> 'object' THEN
    RETURN false; -- strings, booleans, null: src = tgt said it
  END IF;
  -- The typed numbers: the target may hold a plain JSON number.
  tnum := CASE jsonb_typeof(tgt) WHEN 'number' THEN tgt #>> '{}'
                                 WHEN 'object' THEN coalesce(tgt ->> '$numberDouble',
                                   tgt ->> '$numberInt', tgt ->> '$numberLong') END;
  IF src ? '$numberDouble' THEN
    RETURN jsonb_typeof(tgt) IN ('number', 'object') AND tnum IS NOT NULL
       AND (src ->> '$numberDouble')::float8::text = tnum::float8::text;
  ELSIF src ? '$numberInt' OR src ? '$numberLong' THEN
    RETURN jsonb_typeof(tgt) IN ('number', 'object') AND tnum IS NOT NULL
       AND coalesce(src ->> '$numberInt', src ->> '$numberLong')::numeric = tnum::numeric;
  ELSIF src ? '$symbol' THEN
    -- A Symbol is stored as the string it holds.
    RETURN tgt = src -> '$symbol';
  ELSIF src ? '$date' THEN
    RETURN jsonb_typeof(tgt) = 'object' AND tgt ? '$date'
       AND nextcrm_migration.json_time(src) = nextcrm_migration.json_time(tgt);
  END IF;
  IF jsonb_typeof(tgt) <> 'object'
     OR (SELECT array_agg(x ORDER BY x) FROM jsonb_object_keys(src) x)
        IS DISTINCT FROM (SELECT array_agg(x ORDER BY x) FROM jsonb_object_keys(tgt) x) THEN
    RETURN false;
  END IF;
  FOR k IN SELECT jsonb_object_keys(src) LOOP
    IF NOT nextcrm_migration.json_same(src -> k, tgt -> k) THEN
      RETURN false;
    END IF;
  END LOOP;
  RETURN true;
END
$fn$;

-- Whether a UUID carries the ObjectId marker of src/core/oid_uuid.hpp, so
-- nextcrm_unmap_oid() can take it back.
CREATE FUNCTION nextcrm_migration.is_oid_uuid(u uuid) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT substr(u::text, 15, 1) = '7'
     AND (('x' || right(u::text, 3))::bit(12)::int & 1023) = 634
$$;

-- One row per check (status pass, fail or warn) and a final summary row.
-- Families: counts, samples, referential, conversions, field_rules.
CREATE FUNCTION nextcrm_validate(server name, seed double precision DEFAULT NULL,
                                 sample_size int DEFAULT 100, profile text DEFAULT 'nextcrm')
RETURNS TABLE (family text, "table" text, "check" text, status text,
               expected text, actual text, details text)
LANGUAGE plpgsql VOLATILE
-- Never the caller's path: pg_catalog first, then this function's temp
-- tables, the extension's functions and the target's tables (public).
SET search_path = pg_catalog, pg_temp, @extschema@, public
-- Hundreds of short queries: compiling them would cost more than it saves.
SET jit = off
AS $fn$
#variable_conflict use_column
DECLARE
  c record;
  f record;
  n bigint;
  m bigint;
  msg text;
  q text;
  d_fmt text;
  e_expr text;
  a_expr text;
  fam text;
  t0 timestamptz := clock_timestamp();
BEGIN
  IF server IS NULL THEN
    RAISE EXCEPTION 'server must not be null';
  END IF;
  -- Left over when an earlier call in this session was caught mid-way.
  FOR q IN SELECT unnest(ARRAY['nextcrm_v_src', 'nextcrm_v_sample', 'nextcrm_v_map', 'nextcrm_v_cmp',
                               'nextcrm_v_result', 'nextcrm_v_dangling', 'nextcrm_v_ranges']) LOOP
    IF to_regclass('pg_temp.' || q) IS NOT NULL THEN
      EXECUTE format('DROP TABLE pg_temp.%I CASCADE', q);
    END IF;
  END LOOP;
  CREATE TEMP TABLE nextcrm_v_result (seq serial, family text, "table" text, "check" text,
    status text, expected text, actual text, details text);
  CREATE TEMP TABLE nextcrm_v_map AS SELECT * FROM nextcrm_mapping(profile);

  -- The date ranges of the field rules: an end is not before its start.
  CREATE TEMP TABLE nextcrm_v_ranges AS
    SELECT v.rule_position, v."table" AS tbl, v.first_column AS first, v.second_column AS last,
           mf.stored_key AS first_key, ml.stored_key AS last_key
      FROM nextcrm_profile_rules(profile) v
      JOIN nextcrm_v_map mf ON mf.collection = v."table" AND mf.target_column = v.first_column
      JOIN nextcrm_v_map ml ON ml.collection = v."table" AND ml.target_column = v.second_column
     WHERE v.rule = 'date_range';

  -- The source, read once; the views only name its parts.  The field rules'
  -- keys are read from every document, so that a rule the source itself
  -- breaks is told apart from one the migration broke.
  CREATE TEMP TABLE nextcrm_v_src AS
    SELECT * FROM nextcrm_validation_source(server, seed, sample_size, profile,
      ARRAY(SELECT m.collection || '.' || m.stored_key FROM nextcrm_v_map m
             WHERE m.kind = 'text' AND m.target_column ILIKE '%email%'
            UNION
            SELECT r.tbl || '.' || k FROM nextcrm_v_ranges r, unnest(ARRAY[r.first_key, r.last_key]) k));
  CREATE TEMP VIEW nextcrm_v_ids AS
    SELECT s.collection, s.source_id, s.id FROM nextcrm_v_src s WHERE s.kind = 'id';
  CREATE TEMP VIEW nextcrm_v_pairs AS
    SELECT DISTINCT s.collection AS junction, s.a, s.b FROM nextcrm_v_src s WHERE s.kind = 'pair';
  -- Every check reads one kind of one collection: an index finds them.
  CREATE INDEX ON nextcrm_v_src (kind, collection);
  CREATE TEMP TABLE nextcrm_v_sample AS
    SELECT s.collection, s.source_id, s.id, s.doc FROM nextcrm_v_src s WHERE s.kind = 'sample';
  ANALYZE nextcrm_v_src;
  ANALYZE nextcrm_v_sample;
  ANALYZE nextcrm_v_map;
  RAISE DEBUG 'nextcrm_validate: source read after %', clock_timestamp() - t0;

  ---------------------------------------------------------------------------
  -- 1. Row counts: source documents = target rows + documents in the error
  --    table, and the same documents on both sides.
  ---------------------------------------------------------------------------
  FOR c IN SELECT DISTINCT m.collection, m.collection_position, s.documents AS source_count
             FROM nextcrm_v_map m
             LEFT JOIN nextcrm_v_src s ON s.kind = 'count' AND s.collection = m.collection
            ORDER BY m.collection_position LOOP
    EXECUTE format('SELECT count(*) FROM %I', c.collection) INTO n;
    SELECT count(DISTINCT e.source_id) INTO m FROM nextcrm_migration.errors e
     WHERE e.collection = c.collection;
    INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
    VALUES ('counts', c.collection, 'row count',
            CASE WHEN c.source_count = n + m THEN 'pass' ELSE 'fail' END,
            c.source_count::text, (n + m)::text,
            format('source %s documents; target %s rows + %s in the error table',
                   c.source_count, n, m));
    -- A dump file damaged or unreadable now (source counted up to the
    -- damage), and a collection the migration recorded as failed or skipped:
    -- each a failing check naming it.
    INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
    SELECT 'counts', c.collection, 'source readable', 'fail', 'read to its end',
           format('damaged after %s documents', s.documents), s.doc ->> 'reason'
      FROM nextcrm_v_src s WHERE s.kind = 'damaged' AND s.collection = c.collection;
    INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
    SELECT 'counts', c.collection, 'migration complete', 'fail', 'done', k.phase, k.message
      FROM nextcrm_migration.checkpoint k
     WHERE k.collection = c.collection AND k.phase IN ('failed', 'skipped');
    -- Documents the sample cannot compare (see nextcrm_validation_source):
    -- named, and each must be migrated or in the error table.
    SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (
             SELECT 1 FROM nextcrm_migration.errors e
              WHERE e.collection = s.collection AND e.source_id = s.source_id)),
           string_agg(format('%s (%s)', s.source_id, s.doc ->> 'reason'), '; ')
      INTO m, n, q
      FROM nextcrm_v_src s WHERE s.kind = 'awkward' AND s.collection = c.collection;
    IF m > 0 THEN
      IF n > 0 THEN
        EXECUTE format('SELECT count(*) FROM nextcrm_v_src s WHERE s.kind = ''awkward''
                          AND s.collection = $1 AND s.id IS NOT NULL
                          AND EXISTS (SELECT 1 FROM %I t WHERE t.id = s.id)
                          AND NOT EXISTS (SELECT 1 FROM nextcrm_migration.errors e
                                           WHERE e.collection = $1 AND e.source_id = s.source_id)',
                       c.collection) INTO e_expr USING c.collection;
        n := n - e_expr::bigint;
      END IF;
      INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
      VALUES ('counts', c.collection, 'awkward documents',
              CASE WHEN n = 0 THEN 'warn' ELSE 'fail' END, '0 unaccounted',
              n || ' unaccounted',
              left(m || ' documents whose fields are not compared: ' || q, 2000));
    END IF;
    -- Which documents: each source _id is a target row or an error, and
    -- each target row is a source document.
    q := format('FROM nextcrm_v_ids s WHERE s.collection = $1
                  AND NOT EXISTS (SELECT 1 FROM %I t WHERE t.id = s.id)
                  AND NOT EXISTS (SELECT 1 FROM nextcrm_migration.errors e
                                   WHERE e.collection = $1 AND e.source_id = s.source_id)',
                c.collection);
    EXECUTE 'SELECT count(*) ' || q INTO n USING c.collection;
    msg := NULL;
    IF n > 0 THEN -- the second pass only to name a few
      EXECUTE 'SELECT string_agg(x, '', '') FROM (SELECT s.source_id AS x ' || q || ' LIMIT 5) l'
        INTO msg USING c.collection;
    END IF;
    INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
    VALUES ('counts', c.collection, 'documents accounted',
            CASE WHEN n = 0 THEN 'pass' ELSE 'fail' END, '0 missing', n || ' missing',
            CASE WHEN n > 0 THEN 'source documents neither migrated nor in the error table: ' || msg END);
  END LOOP;

  RAISE DEBUG 'nextcrm_validate: counts after %', clock_timestamp() - t0;
  ---------------------------------------------------------------------------
  -- 3. Referential integrity.
  ---------------------------------------------------------------------------
  -- Every reference resolves (even with the foreign keys disabled or dropped).
  FOR c IN SELECT m.collection FROM nextcrm_v_map m
            WHERE m.kind IN ('ref', 'ref_array')
            GROUP BY m.collection ORDER BY min(m.collection_position) LOOP
    msg := NULL;
    m := 0;
    FOR f IN SELECT m.target_column, m.ref_model, m.kind FROM nextcrm_v_map m
              WHERE m.collection = c.collection AND m.kind IN ('ref', 'ref_array')
             UNION ALL
             SELECT m.route_column, m.route_model, 'ref' FROM nextcrm_v_map m
              WHERE m.collection = c.collection AND m.route_column IS NOT NULL LOOP
      IF f.kind = 'ref' THEN
        EXECUTE format('SELECT count(*) FROM %I t WHERE t.%I IS NOT NULL
                          AND NOT EXISTS (SELECT 1 FROM %I r WHERE r.id = t.%2$I)',
                       c.collection, f.target_column, f.ref_model) INTO n;
      ELSE
        EXECUTE format('SELECT count(*) FROM %I t, unnest(t.%I) e(id)
                         WHERE NOT EXISTS (SELECT 1 FROM %I r WHERE r.id = e.id)',
                       c.collection, f.target_column, f.ref_model) INTO n;
      END IF;
      IF n > 0 THEN
        msg := concat_ws('; ', msg, format('%s: %s orphaned (-> %s)', f.target_column, n, f.ref_model));
        m := m + n;
      END IF;
    END LOOP;
    INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
    VALUES ('referential', c.collection, 'foreign keys',
            CASE WHEN m = 0 THEN 'pass' ELSE 'fail' END, '0 orphans', m || ' orphans', msg);
  END LOOP;

  -- Every reference is enforced by the database, so it stays resolved after
  -- the migration: a foreign key from its column to its model, validated
  -- (ALTER TABLE ... ADD CONSTRAINT ... NOT VALID leaves the rows already
  -- there unchecked), whose internal triggers are enabled (ALTER TABLE ...
  -- DISABLE TRIGGER ALL switches them off), with the ON DELETE action of
  -- schema.prisma: RESTRICT for a required reference, SET NULL for an
  -- optional one, unless the profile's rules.csv names another (on_delete
  -- rows: NextCRM's tasksComments.task cascades, D12).  A key with another
  -- action is not the one the application was written against.
  FOR c IN SELECT m.collection FROM nextcrm_v_map m
            WHERE m.kind = 'ref'
            GROUP BY m.collection ORDER BY min(m.collection_position) LOOP
    SELECT count(*), string_agg(m.target_column, ', ' ORDER BY m.target_column)
      INTO n, msg
      FROM nextcrm_v_map m
     WHERE m.collection = c.collection AND m.kind = 'ref'
       AND NOT EXISTS (
             SELECT 1 FROM pg_constraint k
              WHERE k.contype = 'f' AND k.conrelid = to_regclass(format('%I', m.collection))
                AND k.confrelid = to_regclass(format('%I', m.ref_model))
                AND k.conkey = ARRAY[(SELECT a.attnum FROM pg_attribute a
                                       WHERE a.attrelid = k.conrelid AND a.attname = m.target_column)]
                AND k.convalidated
                AND k.confdeltype = coalesce(
                      (SELECT CASE r.second_column WHEN 'cascade' THEN 'c' WHEN 'restrict' THEN 'r'
                                WHEN 'set_null' THEN 'n' WHEN 'set_default' THEN 'd'
                                WHEN 'no_action' THEN 'a' END
                         FROM nextcrm_profile_rules(profile) r
                        WHERE r.rule = 'on_delete' AND r."table" = m.collection
                          AND r.first_column = m.target_column),
                      CASE WHEN m.required THEN 'r' ELSE 'n' END)
                AND NOT EXISTS (SELECT 1 FROM pg_trigger g
                                 WHERE g.tgconstraint = k.oid AND g.tgenabled NOT IN ('O', 'A')));
    INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
    VALUES ('referential', c.collection, 'references enforced',
            CASE WHEN n = 0 THEN 'pass' ELSE 'fail' END, '0 unenforced', n || ' unenforced',
            CASE WHEN n > 0 THEN 'references without an enabled, validated foreign key with their '
                                 'ON DELETE action: ' || msg END);
  END LOOP;

  -- References the migration recorded as dangling (repairs of kind
  -- dangling_ref, not resolved since) must point at documents the source
  -- does not hold: one it holds was migrated (the reference was lost to the
  -- order of the calls, say) and fails the check; one in the error table is
  -- a warning, since that error accounts for it and nextcrm_retry_errors()
  -- restores the reference once the document migrates.
  -- (One equality join on collection and id, so a hash join serves any
  -- number of repairs.)
  CREATE TEMP TABLE nextcrm_v_dangling AS
    WITH lost AS (
      SELECT DISTINCT r.id, r.collection, r.source_id, r.field, r.original, t.model,
             @extschema@.nextcrm_map_oid(substring(r.original from '^"?([0-9a-fA-F]{24})"?$')) AS target
        FROM nextcrm_migration.repairs r
        JOIN nextcrm_v_map m ON m.collection = r.collection
         AND m.stored_key = split_part(r.field, '.', 1)
         AND m.kind IN ('ref', 'ref_array', 'junction')
        CROSS JOIN LATERAL (SELECT m.ref_model UNION SELECT m.route_model) t(model)
       WHERE r.kind = 'dangling_ref' AND r.resolved_at IS NULL AND t.model IS NOT NULL)
    SELECT l.id, l.collection, l.source_id, l.field, l.original, s.collection AS held_in,
           EXISTS (SELECT 1 FROM nextcrm_migration.errors e
                    WHERE e.collection = s.collection AND e.source_id = s.source_id) AS failed
      FROM lost l
      JOIN nextcrm_v_src s ON s.kind = 'id' AND s.collection = l.model AND s.id = l.target;
  FOR c IN SELECT m.collection FROM nextcrm_v_map m
            WHERE m.kind IN ('ref', 'ref_array', 'junction')
            GROUP BY m.collection ORDER BY min(m.collection_position) LOOP
    SELECT count(*) FILTER (WHERE NOT d.failed), count(*) FILTER (WHERE d.failed),
           string_agg(format('%s.%s -> %s %s', d.source_id, d.field, d.held_in, d.original), ', ')
             FILTER (WHERE NOT d.failed)
      INTO n, m, msg
      FROM nextcrm_v_dangling d WHERE d.collection = c.collection;
    INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
    VALUES ('referential', c.collection, 'dangling references',
            CASE WHEN n > 0 THEN 'fail' WHEN m > 0 THEN 'warn' ELSE 'pass' END,
            '0 to held documents', n || ' to migrated documents, ' || m || ' to documents in the error table',
            concat_ws('; ',
              CASE WHEN n > 0 THEN 'references recorded as dangling whose document the source holds and the target has: '
                                   || left(msg, 1500) END,
              CASE WHEN m > 0 THEN m || ' recorded as dangling point at documents in the error table; '
                                   'nextcrm_retry_errors() restores them once those documents migrate' END));
  END LOOP;
  DROP TABLE nextcrm_v_dangling;

  RAISE DEBUG 'nextcrm_validate: foreign keys after %', clock_timestamp() - t0;
  -- Junction tables: no orphans, and exactly the union of both sides' lists
  -- as the source holds them (pairs whose other end was not migrated are
  -- dropped, as the mapping says).
  FOR c IN SELECT m.target_table AS junction,
                  max(CASE WHEN m.target_column = 'A' THEN m.ref_model ELSE m.collection END) AS a_model,
                  max(CASE WHEN m.target_column = 'B' THEN m.ref_model ELSE m.collection END) AS b_model
             FROM nextcrm_v_map m WHERE m.kind = 'junction'
            GROUP BY m.target_table ORDER BY m.target_table LOOP
    EXECUTE format('SELECT count(*) FROM %I j WHERE NOT EXISTS (SELECT 1 FROM %I a WHERE a.id = j."A")
                       OR NOT EXISTS (SELECT 1 FROM %I b WHERE b.id = j."B")',
                   c.junction, c.a_model, c.b_model) INTO n;
    INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
    VALUES ('referential', c.junction, 'junction orphans',
            CASE WHEN n = 0 THEN 'pass' ELSE 'fail' END, '0 orphans', n || ' orphans',
            CASE WHEN n > 0 THEN format('rows whose A is no %s or whose B is no %s', c.a_model, c.b_model) END);
    EXECUTE format(
      'WITH expected AS (
         SELECT p.a, p.b FROM nextcrm_v_pairs p WHERE p.junction = $1
            AND EXISTS (SELECT 1 FROM %2$I a WHERE a.id = p.a)
            AND EXISTS (SELECT 1 FROM %3$I b WHERE b.id = p.b)),
       actual AS (SELECT DISTINCT j."A" AS a, j."B" AS b FROM %1$I j)
       SELECT (SELECT count(*) FROM expected),
              (SELECT count(*) FROM expected e WHERE NOT EXISTS
                 (SELECT 1 FROM actual x WHERE x.a = e.a AND x.b = e.b))
            + (SELECT count(*) FROM actual x WHERE NOT EXISTS
                 (SELECT 1 FROM expected e WHERE x.a = e.a AND x.b = e.b)),
              (SELECT count(*) FROM %1$I)',
      c.junction, c.a_model, c.b_model) INTO n, m USING c.junction;
    EXECUTE format('SELECT count(*) FROM %I', c.junction) INTO q;
    INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
    VALUES ('referential', c.junction, 'junction union',
            CASE WHEN m = 0 THEN 'pass' ELSE 'fail' END, n || ' pairs', q || ' rows',
            CASE WHEN m > 0 THEN m || ' pairs differ from the union of both sides'' source lists' END);
  END LOOP;

  RAISE DEBUG 'nextcrm_validate: junctions after %', clock_timestamp() - t0;
  -- Every target id maps back (nextcrm_unmap_oid, or foreign_ids for
  -- non-ObjectId _ids) to a source document of its collection.
  FOR c IN SELECT DISTINCT m.collection, m.collection_position FROM nextcrm_v_map m
            ORDER BY m.collection_position LOOP
    -- Each row's _id as the map gives it back, then one hash join on the
    -- UUID with the source's ids.
    EXECUTE format(
      'SELECT count(*)
         FROM (SELECT t.id, f.source_id AS listed,
                      CASE WHEN f.id IS NULL AND nextcrm_migration.is_oid_uuid(t.id)
                           THEN nextcrm_unmap_oid(t.id) END AS hex
                 FROM %I t
                 LEFT JOIN nextcrm_migration.foreign_ids f
                   ON f.collection = $1 AND f.id = t.id) t
        WHERE NOT EXISTS (
          SELECT 1 FROM nextcrm_v_src s
           WHERE s.kind = ''id'' AND s.collection = $1 AND s.id = t.id
             AND CASE WHEN t.listed IS NULL THEN s.source_id = t.hex
                      -- spelled as the migration stored it (jsonb_storable():
                      -- a NUL escape kept as the text \u0000)
                      ELSE regexp_replace(s.source_id, ''(?<!\\)((?:\\\\)*)\\u0000'',
                                          ''\1\\\\u0000'', ''g'')::jsonb = t.listed END)', c.collection)
      INTO n USING c.collection;
    INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
    VALUES ('referential', c.collection, 'ids map back',
            CASE WHEN n = 0 THEN 'pass' ELSE 'fail' END, '0 unmapped', n || ' unmapped',
            CASE WHEN n > 0 THEN 'target ids that do not map back to a source _id of the collection' END);
  END LOOP;

  RAISE DEBUG 'nextcrm_validate: ids map back after %', clock_timestamp() - t0;
  ---------------------------------------------------------------------------
  -- 2. Sample records: each sampled source document, field by field, against
  --    its target row, through the mapping but not through the migration's
  --    transform: the document is libbson's relaxed Extended JSON, compared
  --    here with the row as PostgreSQL returns it.  A field the migration
  --    recorded as repaired is compared with the repair's replacement.
  ---------------------------------------------------------------------------
  CREATE TEMP TABLE nextcrm_v_cmp (collection text, source_id text, field text, kind text,
                                   ok boolean, expected text, actual text);
  FOR f IN SELECT m.* FROM nextcrm_v_map m
            WHERE m.kind NOT IN ('id', 'junction')
            ORDER BY m.collection_position, m.stored_key LOOP
    -- BSON undefined is written like null and a missing key (NULL, or the
    -- field's on_missing value), so it is compared as null.
    q := format('(CASE WHEN s.doc->%1$L = ''{"$undefined": true}''::jsonb THEN ''null''::jsonb
                      ELSE s.doc->%1$L END)', f.stored_key);
    a_expr := format('t.%I', f.target_column);
    e_expr := CASE f.kind
      WHEN 'text' THEN format('CASE WHEN r.kind IS NOT NULL THEN nullif(r.replacement, ''NULL'')
                                    WHEN coalesce(jsonb_typeof(%1$s), ''null'') = ''null'' THEN NULL
                                    ELSE coalesce(%1$s ->> ''$symbol'', %1$s #>> ''{}'') END', q)
      WHEN 'enum' THEN format('CASE WHEN r.kind IS NOT NULL THEN nullif(r.replacement, ''NULL'')
                                    WHEN coalesce(jsonb_typeof(%1$s), ''null'') = ''null'' THEN NULL
                                    ELSE %1$s #>> ''{}'' END', q)
      WHEN 'bool' THEN format('CASE WHEN r.replacement = ''NULL'' THEN NULL
                                    WHEN r.kind IS NOT NULL THEN r.replacement::boolean
                                    WHEN coalesce(jsonb_typeof(%1$s), ''null'') = ''null'' THEN NULL
                                    ELSE (%1$s #>> ''{}'')::boolean END', q)
      WHEN 'timestamp' THEN format('CASE WHEN r.replacement = ''NULL'' THEN NULL
                                    WHEN r.kind IS NOT NULL THEN r.replacement::timestamp
                                    WHEN coalesce(jsonb_typeof(%1$s), ''null'') = ''null'' THEN NULL
                                    ELSE nextcrm_migration.json_time(%1$s) END', q)
      -- The stored value itself when it is the same BSON value (numbers
      -- as numbers), else the source's, which then shows as different.
      WHEN 'jsonb' THEN format('CASE WHEN r.replacement = ''NULL'' THEN NULL
                                    WHEN r.kind IS NOT NULL THEN r.replacement::jsonb
                                    WHEN coalesce(jsonb_typeof(%1$s), ''null'') = ''null'' THEN NULL
                                    WHEN nextcrm_migration.json_same(%1$s, t.%2$I) THEN t.%2$I
                                    ELSE %1$s END', q, f.target_column)
      WHEN 'ref' THEN format('CASE WHEN r.kind = ''rerouted'' OR r.replacement = ''NULL'' THEN NULL
                                    WHEN r.kind IS NOT NULL THEN r.replacement::uuid
                                    WHEN coalesce(jsonb_typeof(%1$s), ''null'') = ''null'' THEN NULL
                                    ELSE nextcrm_migration.json_ref(%1$s) END', q)
      WHEN 'text_array' THEN format('CASE WHEN r.kind IS NOT NULL THEN ARRAY[r.replacement]
                                    WHEN coalesce(jsonb_typeof(%1$s), ''null'') = ''null'' THEN %2$s
                                    WHEN jsonb_typeof(%1$s) = ''array'' THEN
                                      (SELECT coalesce(array_agg(coalesce(er.replacement, e.v ->> ''$symbol'', e.v #>> ''{}'') ORDER BY e.i), ''{}'')
                                         FROM jsonb_array_elements(%1$s) WITH ORDINALITY e(v, i)
                                         LEFT JOIN nextcrm_migration.repairs er
                                           ON er.collection = s.collection AND er.source_id = s.source_id
                                          AND er.field = %3$L || ''.'' || (e.i - 1))
                                    END',
                                    q, CASE WHEN f.on_missing = 'empty' THEN '''{}''::text[]' ELSE 'NULL' END,
                                    f.stored_key)
      WHEN 'ref_array' THEN format('CASE WHEN coalesce(jsonb_typeof(%1$s), ''null'') = ''null'' THEN %2$s
                                    WHEN jsonb_typeof(%1$s) = ''array'' THEN
                                      (SELECT coalesce(array_agg(nextcrm_migration.json_ref(e.v) ORDER BY e.i), ''{}'')
                                         FROM jsonb_array_elements(%1$s) WITH ORDINALITY e(v, i)
                                        WHERE NOT EXISTS (SELECT 1 FROM nextcrm_migration.repairs er
                                           WHERE er.collection = s.collection AND er.source_id = s.source_id
                                             AND er.field = %3$L || ''.'' || (e.i - 1)
                                             AND er.resolved_at IS NULL))
                                    END',
                                    q, CASE WHEN f.on_missing = 'empty' THEN '''{}''::uuid[]' ELSE 'NULL' END,
                                    f.stored_key)
      ELSE -- int4, version: compared as numbers (int32, int64, whole double, Decimal128)
        format('CASE WHEN r.replacement = ''NULL'' THEN NULL
                     WHEN r.kind IS NOT NULL THEN r.replacement::numeric
                     WHEN coalesce(jsonb_typeof(%1$s), ''null'') = ''null'' THEN NULL
                     ELSE nextcrm_migration.json_number(%1$s) END', q)
    END;
    -- A column that also receives rerouted references (tasksComments'
    -- CRM-task comments, D12) holds the other field's id when the migration
    -- recorded the reroute.
    SELECT m.stored_key INTO msg FROM nextcrm_v_map m
     WHERE m.collection = f.collection AND m.route_column = f.target_column;
    IF msg IS NOT NULL THEN
      e_expr := format('CASE WHEN EXISTS (SELECT 1 FROM nextcrm_migration.repairs rr
                                   WHERE rr.collection = s.collection AND rr.source_id = s.source_id
                                     AND rr.field = %L AND rr.kind = ''rerouted'')
                             THEN nextcrm_migration.json_ref(s.doc->%1$L) ELSE %s END', msg, e_expr);
    END IF;
    IF f.kind IN ('int4', 'version') THEN
      a_expr := a_expr || '::numeric';
    ELSIF f.kind = 'enum' THEN
      a_expr := a_expr || '::text';
    END IF;
    d_fmt := '(%s)::text';
    EXECUTE format(
      'INSERT INTO nextcrm_v_cmp
       SELECT s.collection, s.source_id, %1$L, %2$L, (%3$s) IS NOT DISTINCT FROM (%4$s),
              ' || format(d_fmt, '%4$s') || ', ' || format(d_fmt, '%3$s') || '
         FROM nextcrm_v_sample s
         JOIN %5$I t ON t.id = s.id
         LEFT JOIN LATERAL (SELECT r.kind, r.replacement FROM nextcrm_migration.repairs r
                             WHERE r.collection = s.collection AND r.source_id = s.source_id
                               AND r.field = %1$L AND r.resolved_at IS NULL
                             ORDER BY r.id DESC LIMIT 1) r ON true
        WHERE s.collection = %6$L',
      f.stored_key, f.kind, a_expr, e_expr, f.target_table, f.collection);
  END LOOP;

  RAISE DEBUG 'nextcrm_validate: sample fields after %', clock_timestamp() - t0;
  -- Junction memberships of the sampled documents: each listed id whose row
  -- exists is a row of the join table with this document's id.
  FOR f IN SELECT m.* FROM nextcrm_v_map m WHERE m.kind = 'junction'
            ORDER BY m.collection_position, m.stored_key LOOP
    EXECUTE format(
      'INSERT INTO nextcrm_v_cmp
       SELECT s.collection, s.source_id, %1$L, ''junction'', x.expected = x.present,
              x.other || CASE WHEN x.expected THEN '' listed'' ELSE '' absent'' END,
              x.other || CASE WHEN x.present THEN '' listed'' ELSE '' absent'' END
         FROM nextcrm_v_sample s
         JOIN %2$I t ON t.id = s.id
         CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(s.doc->%1$L) = ''array''
                                                      THEN s.doc->%1$L ELSE ''[]'' END) e(v)
         CROSS JOIN LATERAL (SELECT nextcrm_migration.json_ref(e.v) AS other) o
         CROSS JOIN LATERAL (
           SELECT o.other::text AS other,
                  EXISTS (SELECT 1 FROM %3$I r WHERE r.id = o.other) AS expected,
                  EXISTS (SELECT 1 FROM %4$I j WHERE j.%5$I = t.id AND j.%6$I = o.other) AS present) x
        WHERE s.collection = %7$L AND o.other IS NOT NULL',
      f.stored_key, f.collection, f.ref_model, f.target_table, f.owner_column, f.target_column,
      f.collection);
  END LOOP;

  RAISE DEBUG 'nextcrm_validate: junction memberships after %', clock_timestamp() - t0;
  CREATE INDEX ON nextcrm_v_cmp (collection, kind);
  ANALYZE nextcrm_v_cmp;
  FOR c IN SELECT m.collection FROM nextcrm_v_map m GROUP BY m.collection
            ORDER BY min(m.collection_position) LOOP
    -- Each sampled document arrived or is in the error table.
    EXECUTE format(
      'SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (
                SELECT 1 FROM nextcrm_migration.errors e
                 WHERE e.collection = s.collection AND e.source_id = s.source_id)
                AND NOT EXISTS (SELECT 1 FROM %I t WHERE t.id = s.id)),
              string_agg(s.source_id, '', '') FILTER (WHERE NOT EXISTS (
                SELECT 1 FROM nextcrm_migration.errors e
                 WHERE e.collection = s.collection AND e.source_id = s.source_id)
                AND NOT EXISTS (SELECT 1 FROM %1$I t WHERE t.id = s.id))
         FROM nextcrm_v_sample s
        WHERE s.collection = $1', c.collection)
      INTO n, m, msg USING c.collection;
    INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
    VALUES ('samples', c.collection, 'sample documents',
            CASE WHEN m = 0 THEN 'pass' ELSE 'fail' END, n || ' sampled', m || ' missing',
            CASE WHEN m > 0 THEN 'sampled documents neither migrated nor in the error table: '
                                 || left(msg, 500) END);

    FOR fam IN SELECT unnest(ARRAY['sample fields', 'junction memberships']) LOOP
      SELECT count(*), count(*) FILTER (WHERE NOT x.ok),
             -- A report names _id and field, never a document value
             -- (README, "Secrets"); a membership's values are row ids.
             string_agg(CASE x.kind WHEN 'junction'
                          THEN format('%s.%s: source %s, target %s', x.source_id, x.field,
                                      x.expected, x.actual)
                          ELSE format('%s.%s: source and target differ', x.source_id, x.field)
                        END, '; ')
               FILTER (WHERE NOT x.ok)
        INTO n, m, msg
        FROM nextcrm_v_cmp x
       WHERE x.collection = c.collection
         AND (x.kind = 'junction') = (fam = 'junction memberships');
      CONTINUE WHEN fam = 'junction memberships' AND NOT EXISTS (
        SELECT 1 FROM nextcrm_v_map mm WHERE mm.collection = c.collection AND mm.kind = 'junction');
      INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
      VALUES ('samples', c.collection, fam, CASE WHEN m = 0 THEN 'pass' ELSE 'fail' END,
              n || ' equal', (n - m) || ' equal', left(msg, 2000));
    END LOOP;

    -- 4. Conversions, per kind, over the same sample.
    FOR f IN SELECT k.label, k.kinds FROM (VALUES
               ('dates', ARRAY['timestamp']), ('arrays', ARRAY['text_array', 'ref_array']),
               ('jsonb', ARRAY['jsonb']), ('enums', ARRAY['enum']), ('booleans', ARRAY['bool']))
               k(label, kinds)
              WHERE EXISTS (SELECT 1 FROM nextcrm_v_map mm
                             WHERE mm.collection = c.collection AND mm.kind = ANY (k.kinds)) LOOP
      SELECT count(*), count(*) FILTER (WHERE NOT x.ok),
             -- A report names _id and field, never a document value
             -- (README, "Secrets"); a membership's values are row ids.
             string_agg(CASE x.kind WHEN 'junction'
                          THEN format('%s.%s: source %s, target %s', x.source_id, x.field,
                                      x.expected, x.actual)
                          ELSE format('%s.%s: source and target differ', x.source_id, x.field)
                        END, '; ')
               FILTER (WHERE NOT x.ok)
        INTO n, m, msg
        FROM nextcrm_v_cmp x WHERE x.collection = c.collection AND x.kind = ANY (f.kinds);
      INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
      VALUES ('conversions', c.collection, f.label, CASE WHEN m = 0 THEN 'pass' ELSE 'fail' END,
              n || ' equal', (n - m) || ' equal', left(msg, 2000));
    END LOOP;
  END LOOP;

  RAISE DEBUG 'nextcrm_validate: sample reports after %', clock_timestamp() - t0;
  ---------------------------------------------------------------------------
  -- 4. Conversions visible in the catalog and the data: every column has the
  --    mapping's type, and timestamps hold whole milliseconds (BSON's unit).
  ---------------------------------------------------------------------------
  FOR c IN SELECT m.collection FROM nextcrm_v_map m GROUP BY m.collection
            ORDER BY min(m.collection_position) LOOP
    SELECT count(*), string_agg(format('%s is %s, not %s', m.target_column,
                                       coalesce(t.typ, 'missing'), m.pg_type), '; ')
      INTO n, msg
      FROM nextcrm_v_map m
      LEFT JOIN LATERAL (
        SELECT replace(format_type(a.atttypid, a.atttypmod), '"', '') AS typ
          FROM pg_attribute a
         WHERE a.attrelid = format('%I', m.target_table)::regclass
           AND a.attname = m.target_column AND NOT a.attisdropped) t ON true
     WHERE m.collection = c.collection AND m.kind <> 'junction'
       AND t.typ IS DISTINCT FROM m.pg_type;
    INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
    VALUES ('conversions', c.collection, 'column types',
            CASE WHEN n = 0 THEN 'pass' ELSE 'fail' END, 'mapping types', n || ' differ', msg);

    SELECT string_agg(format('count(*) FILTER (WHERE date_trunc(''milliseconds'', %1$I) <> %1$I)',
                             m.target_column), ' + ')
      INTO q FROM nextcrm_v_map m
     WHERE m.collection = c.collection AND m.kind = 'timestamp';
    IF q IS NOT NULL THEN
      EXECUTE format('SELECT %s FROM %I', q, c.collection) INTO n;
      INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
      VALUES ('conversions', c.collection, 'millisecond timestamps',
              CASE WHEN n = 0 THEN 'pass' ELSE 'fail' END, '0 finer', n || ' finer',
              CASE WHEN n > 0 THEN 'timestamps with digits below the millisecond, which BSON dates cannot hold' END);
    END IF;
  END LOOP;

  RAISE DEBUG 'nextcrm_validate: catalog conversions after %', clock_timestamp() - t0;
  ---------------------------------------------------------------------------
  -- 5. Field rules.
  ---------------------------------------------------------------------------
  FOR c IN SELECT m.collection FROM nextcrm_v_map m GROUP BY m.collection
            ORDER BY min(m.collection_position) LOOP
    -- Required fields are not null (also when NOT NULL was dropped).
    SELECT string_agg(format('count(*) FILTER (WHERE %I IS NULL)', m.target_column), ' + '),
           string_agg(m.target_column, ', ')
      INTO q, msg FROM nextcrm_v_map m
     WHERE m.collection = c.collection AND m.required AND m.kind <> 'junction';
    IF q IS NOT NULL THEN
      EXECUTE format('SELECT %s FROM %I', q, c.collection) INTO n;
      INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
      VALUES ('field_rules', c.collection, 'required not null',
              CASE WHEN n = 0 THEN 'pass' ELSE 'fail' END, '0 nulls', n || ' nulls',
              CASE WHEN n > 0 THEN 'NULL in a required field (' || msg || ')' END);
    END IF;

    -- Enum values are labels of NextCRM's enums (not merely of whatever the
    -- PostgreSQL type holds now).
    SELECT string_agg(format(
             'count(*) FILTER (WHERE %I IS NOT NULL AND %1$I::text NOT IN (SELECT e.label FROM nextcrm_mapping_enums(%L) e WHERE e.enum_type = %L))',
             m.target_column, profile, m.pg_type), ' + ')
      INTO q FROM nextcrm_v_map m
     WHERE m.collection = c.collection AND m.kind = 'enum';
    IF q IS NOT NULL THEN
      EXECUTE format('SELECT %s FROM %I', q, c.collection) INTO n;
      INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
      VALUES ('field_rules', c.collection, 'enum values',
              CASE WHEN n = 0 THEN 'pass' ELSE 'fail' END, '0 outside', n || ' outside',
              CASE WHEN n > 0 THEN 'values that are no label of their enum in NextCRM''s schema' END);
    END IF;

    -- Email format: a malformed address the source holds is reported (the
    -- data is what the users typed); one the migration made is a failure.
    n := 0;
    m := 0;
    msg := NULL;
    FOR f IN SELECT mm.target_column, mm.stored_key FROM nextcrm_v_map mm
              WHERE mm.collection = c.collection AND mm.kind = 'text'
                AND mm.target_column ILIKE '%email%' LOOP
      msg := 'found';
      EXECUTE format(
        'SELECT count(*) FILTER (WHERE held), count(*) FILTER (WHERE NOT held)
           FROM (SELECT coalesce(coalesce(s.doc->%3$L->>''$symbol'', s.doc->>%3$L) !~ %4$L,
                                 false) AS held
                   FROM %1$I t
                   LEFT JOIN nextcrm_v_src s ON s.kind = ''rule'' AND s.collection = %5$L AND s.id = t.id
                  WHERE t.%2$I IS NOT NULL AND t.%2$I !~ %4$L) x',
        c.collection, f.target_column, f.stored_key,
        '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$', c.collection) INTO q, d_fmt;
      n := n + q::bigint;
      m := m + d_fmt::bigint;
    END LOOP;
    IF msg IS NOT NULL THEN
      INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
      VALUES ('field_rules', c.collection, 'email format',
              CASE WHEN m > 0 THEN 'fail' WHEN n > 0 THEN 'warn' ELSE 'pass' END,
              '0 malformed', (n + m) || ' malformed',
              nullif(concat_ws('; ',
                CASE WHEN n > 0 THEN n || ' held by the source (addresses that are not name@domain.tld, kept as the source held them)' END,
                CASE WHEN m > 0 THEN m || ' introduced by the migration' END), ''));
    END IF;
  END LOOP;

  -- Date ranges (the profile's rules.csv): an end is not before its start.
  -- A reversed range the source holds is a warning; one the migration made
  -- is a failure.
  FOR f IN SELECT * FROM nextcrm_v_ranges ORDER BY rule_position LOOP
    EXECUTE format(
      'SELECT count(*) FILTER (WHERE held), count(*) FILTER (WHERE NOT held)
         FROM (SELECT coalesce(nextcrm_migration.json_time(s.doc->%4$L)
                               > nextcrm_migration.json_time(s.doc->%5$L), false) AS held
                 FROM %1$I t
                 LEFT JOIN nextcrm_v_src s ON s.kind = ''rule'' AND s.collection = %1$L AND s.id = t.id
                WHERE t.%2$I > t.%3$I) x',
      f.tbl, f.first, f.last, f.first_key, f.last_key) INTO n, m;
    INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
    VALUES ('field_rules', f.tbl, format('date range %s <= %s', f.first, f.last),
            CASE WHEN m > 0 THEN 'fail' WHEN n > 0 THEN 'warn' ELSE 'pass' END,
            '0 reversed', (n + m) || ' reversed',
            nullif(concat_ws('; ',
              CASE WHEN n > 0 THEN format('%s held by the source (rows whose %s is after their %s, as the source holds them)', n, f.first, f.last) END,
              CASE WHEN m > 0 THEN format('%s introduced by the migration (rows whose %s is after their %s)', m, f.first, f.last) END), ''));
  END LOOP;

  RAISE DEBUG 'nextcrm_validate: field rules after %', clock_timestamp() - t0;
  -- The verdict.
  SELECT count(*) FILTER (WHERE r.status = 'fail'), count(*) INTO n, m FROM nextcrm_v_result r;
  INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
  SELECT 'summary', NULL, 'overall', CASE WHEN n = 0 THEN 'pass' ELSE 'fail' END,
         m || ' checks', format('%s passed, %s failed, %s warnings',
                                count(*) FILTER (WHERE r.status = 'pass'), n,
                                count(*) FILTER (WHERE r.status = 'warn')),
         CASE WHEN n > 0 THEN 'failed: ' || string_agg(concat_ws(' ', r.family, r."table", r."check"), '; ')
                                            FILTER (WHERE r.status = 'fail') END
    FROM nextcrm_v_result r;

  RETURN QUERY SELECT r.family, r."table", r."check", r.status, r.expected, r.actual, r.details
                 FROM nextcrm_v_result r ORDER BY r.seq;
  DROP VIEW nextcrm_v_ids, nextcrm_v_pairs;
  DROP TABLE nextcrm_v_src, nextcrm_v_sample, nextcrm_v_map, nextcrm_v_cmp, nextcrm_v_result;
END
$fn$;

-- The same report, and an ERROR naming the failed checks when any failed
-- (for scripts: psql -v ON_ERROR_STOP=1 exits non-zero).  Each failed check
-- is also a NOTICE, since the rows are lost with the error.
CREATE FUNCTION nextcrm_validate_strict(server name, seed double precision DEFAULT NULL,
                                        sample_size int DEFAULT 100,
                                        profile text DEFAULT 'nextcrm')
RETURNS TABLE (family text, "table" text, "check" text, status text,
               expected text, actual text, details text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  r record;
  failed int := 0;
BEGIN
  FOR r IN SELECT * FROM @extschema@.nextcrm_validate(server, seed, sample_size, profile) v LOOP
    IF r.status = 'fail' AND r.family <> 'summary' THEN
      failed := failed + 1;
      RAISE NOTICE 'validation failed: % % %: expected %, actual %', r.family, r."table",
        r."check", r.expected, r.actual USING DETAIL = coalesce(r.details, '');
    END IF;
    family := r.family; "table" := r."table"; "check" := r."check"; status := r.status;
    expected := r.expected; actual := r.actual; details := r.details;
    RETURN NEXT;
  END LOOP;
  IF failed > 0 THEN
    RAISE EXCEPTION 'nextcrm validation failed: % checks failed', failed
      USING ERRCODE = 'data_exception', HINT = 'Run SELECT * FROM nextcrm_validate(...) WHERE status <> ''pass'' for the report.';
  END IF;
END
$fn$;

REVOKE ALL ON FUNCTION nextcrm_validate(name, double precision, int, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION nextcrm_validate_strict(name, double precision, int, text) FROM PUBLIC;
