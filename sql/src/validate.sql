-------------------------------------------------------------------------------
-- Validation.  nextcrm_validate() compares the target with the MongoDB source
-- read again through the extension (nextcrm_validation_source(), one pass per
-- collection), never the target with itself.  docs/MIGRATING.md explains the
-- report; test/integration/validate.sh plants one defect per check.
-------------------------------------------------------------------------------

-- The parsed mapping of a profile (profiles/<name>/mapping.csv), as the
-- migration reads it.
CREATE OR REPLACE FUNCTION nextcrm_mapping(profile text DEFAULT 'nextcrm', OUT collection text, OUT stored_key text, OUT field text,
                                OUT kind text, OUT target_table text, OUT target_column text,
                                OUT owner_column text, OUT pg_type text, OUT ref_model text,
                                OUT on_missing text, OUT missing_value text,
                                OUT mongo_default text, OUT route_model text,
                                OUT route_column text, OUT lookup_table text,
                                OUT lookup_match text, OUT lookup_result text,
                                OUT fallback_key text, OUT collection_position int,
                                OUT required boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT IMMUTABLE;

-- The validation rules of a profile (profiles/<name>/rules.csv): date_range
-- rows say that column first_column of table is not after second_column.
CREATE OR REPLACE FUNCTION nextcrm_profile_rules(profile text DEFAULT 'nextcrm', OUT rule text,
                                      OUT "table" text, OUT first_column text,
                                      OUT second_column text, OUT rule_position int)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT STABLE;

-- The enums of a profile's MongoDB schema: the labels a value may take.
CREATE OR REPLACE FUNCTION nextcrm_mapping_enums(profile text DEFAULT 'nextcrm', OUT enum_type text, OUT label text, OUT label_position int)
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
CREATE OR REPLACE FUNCTION nextcrm_validation_source(server name, seed double precision DEFAULT NULL,
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
CREATE OR REPLACE FUNCTION nextcrm_migration.json_number(v jsonb) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE jsonb_typeof(v)
           WHEN 'number' THEN v::text::numeric
           WHEN 'object' THEN coalesce(v->>'$numberDecimal', v->>'$numberLong',
                                       v->>'$numberInt', v->>'$numberDouble')::numeric
         END
$$;

-- A BSON date: {"$date": "ISO-8601"} or {"$date": {"$numberLong": ms}}, as
-- the UTC timestamp it is.
CREATE OR REPLACE FUNCTION nextcrm_migration.json_time(v jsonb) RETURNS timestamp
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
CREATE OR REPLACE FUNCTION nextcrm_migration.json_ref(v jsonb) RETURNS uuid
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
CREATE OR REPLACE FUNCTION nextcrm_migration.json_same(src jsonb, tgt jsonb) RETURNS boolean
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
CREATE OR REPLACE FUNCTION nextcrm_migration.is_oid_uuid(u uuid) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT substr(u::text, 15, 1) = '7'
     AND (('x' || right(u::text, 3))::bit(12)::int & 1023) = 634
$$;

-- One row per check (status pass, fail or warn) and a final summary row.
-- Families: counts, samples, referential, conversions, field_rules.
CREATE OR REPLACE FUNCTION nextcrm_validate(server name, seed double precision DEFAULT NULL,
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
  held_cols text;
  lost_cols text;
  ind_n bigint;
  ind_ok boolean;
  ind_msg text;
  rk text;
  oks text;
  extracts text;
  differs text;
  named text;
  fields text[];
  kinds text[];
  positions int[];
  pos int := 0;
  t0 timestamptz := clock_timestamp();
BEGIN
  IF server IS NULL THEN
    RAISE EXCEPTION 'server must not be null';
  END IF;
  -- Left over when an earlier call in this session was caught mid-way.
  FOR q IN SELECT unnest(ARRAY['nextcrm_v_src', 'nextcrm_v_sample', 'nextcrm_v_map', 'nextcrm_v_cmp',
                               'nextcrm_v_result', 'nextcrm_v_dangling', 'nextcrm_v_ranges',
                               'nextcrm_v_kept', 'nextcrm_v_rep']) LOOP
    IF to_regclass('pg_temp.' || q) IS NOT NULL THEN
      EXECUTE format('DROP TABLE pg_temp.%I CASCADE', q);
    END IF;
  END LOOP;
  CREATE TEMP TABLE nextcrm_v_result (seq serial, family text, "table" text, "check" text,
    status text, expected text, actual text, details text);
  CREATE TEMP TABLE nextcrm_v_map AS SELECT * FROM nextcrm_mapping(profile);
  -- What has no column: fields kept aside or merged into another, and whole
  -- collections kept aside (their _id is of kind kept, they have no table).
  -- They are checked against nextcrm_migration.kept_aside (family "kept
  -- aside" below), every other check reads the rest of the mapping.
  CREATE TEMP TABLE nextcrm_v_kept AS
    SELECT m.*, EXISTS (SELECT 1 FROM nextcrm_v_map w WHERE w.collection = m.collection
                          AND w.stored_key = '_id' AND w.kind = 'kept') AS whole
      FROM nextcrm_v_map m WHERE m.kind IN ('kept', 'merged');
  DELETE FROM nextcrm_v_map m WHERE m.kind IN ('kept', 'merged');

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
                OR m.kind = 'enum'
                OR m.required AND m.kind NOT IN ('junction', 'id', 'version')
            UNION
            SELECT r.tbl || '.' || k FROM nextcrm_v_ranges r, unnest(ARRAY[r.first_key, r.last_key]) k));
  CREATE TEMP VIEW nextcrm_v_ids AS
    SELECT s.collection, s.source_id, s.id FROM nextcrm_v_src s WHERE s.kind = 'id';
  CREATE TEMP VIEW nextcrm_v_pairs AS
    SELECT DISTINCT s.collection AS junction, s.a, s.b FROM nextcrm_v_src s WHERE s.kind = 'pair';
  -- Every check reads one kind of one collection: an index finds them.
  CREATE INDEX ON nextcrm_v_src (kind, collection);
  -- A view, not a copy: with a sample of every document, copying the
  -- documents, indexing and analysing the copy cost a tenth of reading the
  -- source.  The index above finds each collection's sampled documents.
  CREATE TEMP VIEW nextcrm_v_sample AS
    SELECT s.collection, s.source_id, s.id, s.doc FROM nextcrm_v_src s WHERE s.kind = 'sample';
  -- The columns the joins and filters read; no plan uses the documents'
  -- statistics, which cost the most to gather.
  ANALYZE nextcrm_v_src (collection, kind, source_id, id, a, b);
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
    -- The same count from a source of truth the reader does not touch: the
    -- collection's file in the dump folder walked by its length prefixes,
    -- or countDocuments on a live server.  A reader that misreads the
    -- dump's layout or passes over a file yields fewer documents, and the
    -- migration and the row count above agree with it; this does not.  It
    -- passes when one such count equals both what the reader yielded and
    -- what the migration accounts for (target rows + error rows).  With a
    -- dump's oplog applied, the file's count equals what the reader read
    -- from the file (before_oplog), and the migration accounts for what the
    -- oplog made of it.
    SELECT count(*),
           coalesce(bool_or(s.documents = coalesce((s.doc ->> 'before_oplog')::bigint,
                                                   c.source_count, 0)
                            AND n + m = coalesce(c.source_count, 0)
                            AND NOT (s.doc ->> 'damaged')::boolean), false),
           string_agg(format('%s holds %s documents%s%s', s.doc ->> 'where', s.documents,
                             CASE WHEN (s.doc ->> 'damaged')::boolean
                                  THEN format(' (and is damaged after them, %s bytes in all)',
                                              s.doc ->> 'bytes') END,
                             CASE WHEN s.doc ? 'before_oplog'
                                  THEN format(' (the reader read %s from it before the oplog)',
                                              s.doc ->> 'before_oplog') END), '; ')
      INTO ind_n, ind_ok, ind_msg
      FROM nextcrm_v_src s WHERE s.kind = 'independent' AND s.collection = c.collection;
    IF ind_n > 0 THEN
      INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
      VALUES ('counts', c.collection, 'independent count',
              CASE WHEN ind_ok THEN 'pass' ELSE 'fail' END,
              ind_msg, format('%s read, %s accounted', coalesce(c.source_count, 0), n + m),
              format('%s; the source read yielded %s documents, the migration accounts for %s (%s rows + %s in the error table)',
                     ind_msg, coalesce(c.source_count, 0), n + m, n, m));
    END IF;
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
  -- rows, or "none" for a loose reference the target declares without a
  -- key).  A key with another
  -- action is not the one the application was written against.
  FOR c IN SELECT m.collection FROM nextcrm_v_map m
            WHERE m.kind = 'ref'
            GROUP BY m.collection ORDER BY min(m.collection_position) LOOP
    SELECT count(*), string_agg(m.target_column, ', ' ORDER BY m.target_column)
      INTO n, msg
      FROM nextcrm_v_map m
     WHERE m.collection = c.collection AND m.kind = 'ref'
       -- A loose reference of the target (rules.csv on_delete ... none): no
       -- foreign key to look for; the migration resolved it or recorded it.
       AND NOT EXISTS (SELECT 1 FROM nextcrm_profile_rules(profile) r
                        WHERE r.rule = 'on_delete' AND r."table" = m.collection
                          AND r.first_column = m.target_column AND r.second_column = 'none')
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
  -- A junction's columns: A and B, or two named ones; a is the first of
  -- the two in byte order, as the migration stages them.
  FOR c IN SELECT m.target_table AS junction,
                  max(least(m.target_column COLLATE "C", m.owner_column COLLATE "C")) AS a_column,
                  max(greatest(m.target_column COLLATE "C", m.owner_column COLLATE "C")) AS b_column,
                  max(CASE WHEN m.owner_column COLLATE "C" < m.target_column COLLATE "C"
                           THEN m.collection ELSE m.ref_model END) AS a_model,
                  max(CASE WHEN m.owner_column COLLATE "C" < m.target_column COLLATE "C"
                           THEN m.ref_model ELSE m.collection END) AS b_model
             FROM nextcrm_v_map m WHERE m.kind = 'junction'
            GROUP BY m.target_table ORDER BY m.target_table LOOP
    EXECUTE format('SELECT count(*) FROM %I j WHERE NOT EXISTS (SELECT 1 FROM %I a WHERE a.id = j.%I)
                       OR NOT EXISTS (SELECT 1 FROM %I b WHERE b.id = j.%I)',
                   c.junction, c.a_model, c.a_column, c.b_model, c.b_column) INTO n;
    INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
    VALUES ('referential', c.junction, 'junction orphans',
            CASE WHEN n = 0 THEN 'pass' ELSE 'fail' END, '0 orphans', n || ' orphans',
            CASE WHEN n > 0 THEN format('rows whose %s is no %s or whose %s is no %s',
                                        c.a_column, c.a_model, c.b_column, c.b_model) END);
    EXECUTE format(
      'WITH expected AS (
         SELECT p.a, p.b FROM nextcrm_v_pairs p WHERE p.junction = $1
            AND EXISTS (SELECT 1 FROM %2$I a WHERE a.id = p.a)
            AND EXISTS (SELECT 1 FROM %3$I b WHERE b.id = p.b)),
       actual AS (SELECT DISTINCT j.%4$I AS a, j.%5$I AS b FROM %1$I j)
       SELECT (SELECT count(*) FROM expected),
              (SELECT count(*) FROM expected e WHERE NOT EXISTS
                 (SELECT 1 FROM actual x WHERE x.a = e.a AND x.b = e.b))
            + (SELECT count(*) FROM actual x WHERE NOT EXISTS
                 (SELECT 1 FROM expected e WHERE x.a = e.a AND x.b = e.b)),
              (SELECT count(*) FROM %1$I)',
      c.junction, c.a_model, c.b_model, c.a_column, c.b_column) INTO n, m USING c.junction;
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
  -- One row per field (and per junction field): how many sampled documents
  -- were compared, how many differ, and which (_id and field, never a value:
  -- README, "Secrets"); position orders the report as the mapping does.
  CREATE TEMP TABLE nextcrm_v_cmp (collection text, field text, kind text, position int,
                                   compared bigint, differ bigint, details text);
  -- The repairs the comparisons read: for each sampled document, its latest
  -- unresolved repair of each field ({"field": {"kind", "replacement"}}),
  -- joined once per collection by (collection, source_id), not looked up
  -- once per field and document.
  CREATE TEMP TABLE nextcrm_v_rep AS
    SELECT r.collection, r.source_id,
           jsonb_object_agg(r.field, jsonb_build_object('kind', r.kind, 'replacement', r.replacement))
             AS fields
      FROM (SELECT DISTINCT ON (r.collection, r.source_id, r.field)
                   r.collection, r.source_id, r.field, r.kind, r.replacement
              FROM nextcrm_migration.repairs r
             WHERE r.resolved_at IS NULL
               AND EXISTS (SELECT 1 FROM nextcrm_v_sample s
                            WHERE s.collection = r.collection AND s.source_id = r.source_id)
             ORDER BY r.collection, r.source_id, r.field, r.id DESC) r
     GROUP BY r.collection, r.source_id;
  ANALYZE nextcrm_v_rep;
  -- One pass over each table's sampled documents compares all its fields
  -- (a column per field, so each comparison is planned once: a VALUES row
  -- per field would be compiled again for every document), reading the
  -- documents and joining the target row and the repairs once, not once
  -- per field.
  FOR c IN SELECT m.collection, m.target_table FROM nextcrm_v_map m
            WHERE m.kind NOT IN ('id', 'junction')
            GROUP BY m.collection, m.target_table
            ORDER BY min(m.collection_position), m.target_table LOOP
    oks := NULL;
    extracts := NULL;
    differs := NULL;
    named := NULL;
    fields := '{}';
    kinds := '{}';
    positions := '{}';
    FOR f IN SELECT m.* FROM nextcrm_v_map m
              WHERE m.collection = c.collection AND m.target_table = c.target_table
                AND m.kind NOT IN ('id', 'junction')
              ORDER BY m.stored_key LOOP
      -- BSON undefined is written like null and a missing key (NULL, or the
      -- field's on_missing value), so it is compared as null.
      q := format('(CASE WHEN s.doc->%1$L = ''{"$undefined": true}''::jsonb THEN ''null''::jsonb
                        ELSE s.doc->%1$L END)', f.stored_key);
      IF f.fallback_key IS NOT NULL THEN
        -- A key merged into this field (special or=): read when the field's
        -- own is missing or null.
        q := format('(CASE WHEN coalesce(jsonb_typeof(%1$s), ''null'') = ''null''
                           THEN s.doc->%2$L ELSE %1$s END)', q, f.fallback_key);
      END IF;
      -- Read once per document (column vN of the documents' subquery), so
      -- the comparison below reads a plain value and the helper functions
      -- it calls are inlined.
      extracts := concat_ws(E',\n', extracts, format('%s AS v%s', q, cardinality(fields) + 1));
      q := format('s.v%s', cardinality(fields) + 1);
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
        -- A derived field (no key of its own): the value its repair records.
        WHEN 'derive' THEN 'r.replacement'
        -- A lookup: the name looked up, case folded, as the migration recorded
        -- it (the value map applied); compared with the name of the row the
        -- column points at.
        WHEN 'lookup' THEN 'CASE WHEN r.replacement = ''NULL'' THEN NULL
                                 WHEN r.kind IS NOT NULL THEN lower(r.replacement) END'
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
      -- A column that also receives rerouted references (the mapping's
      -- route=model:column) holds the other field's id when the migration
      -- recorded the reroute.
      SELECT m.stored_key INTO msg FROM nextcrm_v_map m
       WHERE m.collection = f.collection AND m.route_column = f.target_column;
      IF msg IS NOT NULL THEN
        e_expr := format('CASE WHEN EXISTS (SELECT 1 FROM nextcrm_migration.repairs rr
                                     WHERE rr.collection = s.collection AND rr.source_id = s.source_id
                                       AND rr.field = %L AND rr.kind = ''rerouted'')
                               THEN nextcrm_migration.json_ref(s.doc->%1$L) ELSE %s END', msg, e_expr);
      END IF;
      IF f.kind IN ('int4', 'version', 'numeric') THEN
        a_expr := a_expr || '::numeric';
      ELSIF f.kind = 'lookup' THEN
        a_expr := format('(SELECT lower(l.%I) FROM %I l WHERE l.%I = %s)',
                         f.lookup_match, f.lookup_table, f.lookup_result, a_expr);
      ELSIF f.kind IN ('enum', 'derive') THEN
        a_expr := a_expr || '::text';
      END IF;
      -- The field's repair, from the document's repairs (x.fields).
      rk := CASE WHEN f.kind = 'derive' THEN f.field ELSE f.stored_key END;
      e_expr := regexp_replace(e_expr, '\mr\.kind\M', format('(x.fields -> %L ->> ''kind'')', rk), 'g');
      e_expr := regexp_replace(e_expr, '\mr\.replacement\M',
                               format('(x.fields -> %L ->> ''replacement'')', rk), 'g');
      pos := pos + 1;
      fields := fields || rk;
      kinds := kinds || f.kind::text;
      positions := positions || pos;
      oks := concat_ws(E',\n', oks, format('(%s) IS NOT DISTINCT FROM (%s) AS ok%s',
                                          a_expr, e_expr, cardinality(fields)));
      differs := concat_ws(', ', differs,
                           format('count(*) FILTER (WHERE NOT z.ok%s)', cardinality(fields)));
      named := concat_ws(E',\n', named,
        format('left(string_agg(format(''%%s.%%s: source and target differ'', z.source_id, %L),
                                ''; '') FILTER (WHERE NOT z.ok%s), 2000)', rk, cardinality(fields)));
    END LOOP;
    EXECUTE format(
      'INSERT INTO nextcrm_v_cmp
       SELECT %1$L, f.field, f.kind, f.pos, a.compared, f.differ, f.details
         FROM (SELECT count(*) AS compared, ARRAY[%4$s]::bigint[] AS differ,
                      ARRAY[%5$s]::text[] AS details
                 FROM (SELECT s.source_id, %3$s
                         FROM (SELECT s.collection, s.source_id, s.id, s.doc, %6$s
                                 -- A document over about 2 kB is stored
                                 -- compressed: decompressed here once, not
                                 -- by each key read.
                                 FROM (SELECT s.collection, s.source_id, s.id,
                                              ''{}''::jsonb || s.doc AS doc
                                         FROM nextcrm_v_sample s
                                        WHERE s.collection = %1$L OFFSET 0) s OFFSET 0) s
                         JOIN %2$I t ON t.id = s.id
                         LEFT JOIN nextcrm_v_rep x
                           ON x.collection = s.collection AND x.source_id = s.source_id) z) a
        CROSS JOIN LATERAL unnest($1, $2, $3, a.differ, a.details) f(field, kind, pos, differ, details)',
      c.collection, c.target_table, oks, differs, named, extracts) USING fields, kinds, positions;
  END LOOP;

  RAISE DEBUG 'nextcrm_validate: sample fields after %', clock_timestamp() - t0;
  -- Junction memberships of the sampled documents: each listed id whose row
  -- exists is a row of the join table with this document's id.
  FOR f IN SELECT m.* FROM nextcrm_v_map m WHERE m.kind = 'junction'
            ORDER BY m.collection_position, m.stored_key LOOP
    pos := pos + 1;
    -- A membership's values are row ids, which the report may name.  The
    -- listed ids are joined with the referenced table and the join table
    -- (hash joins over their distinct rows, as EXISTS would count them),
    -- not probed once per listed id.
    EXECUTE format(
      'INSERT INTO nextcrm_v_cmp
       SELECT %7$L, %1$L, ''junction'', %8$s, count(*), count(*) FILTER (WHERE x.expected <> x.present),
              left(string_agg(format(''%%s.%%s: source %%s, target %%s'', x.source_id, %1$L,
                                     x.other || CASE WHEN x.expected THEN '' listed'' ELSE '' absent'' END,
                                     x.other || CASE WHEN x.present THEN '' listed'' ELSE '' absent'' END),
                              ''; '') FILTER (WHERE x.expected <> x.present), 2000)
         FROM (SELECT l.source_id, l.other::text AS other, r.id IS NOT NULL AS expected,
                      j.owner IS NOT NULL AS present
                 FROM (SELECT s.source_id, t.id AS owner, o.other
                         FROM nextcrm_v_sample s
                         JOIN %2$I t ON t.id = s.id
                         CROSS JOIN LATERAL jsonb_array_elements(
                           CASE WHEN jsonb_typeof(s.doc->%1$L) = ''array''
                                THEN s.doc->%1$L ELSE ''[]'' END) e(v)
                         CROSS JOIN LATERAL (SELECT nextcrm_migration.json_ref(e.v) AS other) o
                        WHERE s.collection = %7$L AND o.other IS NOT NULL) l
                 LEFT JOIN (SELECT DISTINCT r.id FROM %3$I r) r ON r.id = l.other
                 LEFT JOIN (SELECT DISTINCT j.%5$I AS owner, j.%6$I AS other FROM %4$I j) j
                   ON j.owner = l.owner AND j.other = l.other) x',
      f.stored_key, f.collection, f.ref_model, f.target_table, f.owner_column, f.target_column,
      f.collection, pos);
  END LOOP;

  RAISE DEBUG 'nextcrm_validate: junction memberships after %', clock_timestamp() - t0;
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
      -- Each field's differences were named as it was compared (_id and
      -- field, never a value: README, "Secrets").
      SELECT coalesce(sum(x.compared), 0), coalesce(sum(x.differ), 0),
             string_agg(x.details, '; ' ORDER BY x.position)
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
               ('jsonb', ARRAY['jsonb']), ('enums', ARRAY['enum']), ('booleans', ARRAY['bool']),
               ('numerics', ARRAY['numeric']), ('lookups', ARRAY['lookup']),
               ('derived', ARRAY['derive']))
               k(label, kinds)
              WHERE EXISTS (SELECT 1 FROM nextcrm_v_map mm
                             WHERE mm.collection = c.collection AND mm.kind = ANY (k.kinds)) LOOP
      -- Each field's differences were named as it was compared (_id and
      -- field, never a value: README, "Secrets").
      SELECT coalesce(sum(x.compared), 0), coalesce(sum(x.differ), 0),
             string_agg(x.details, '; ' ORDER BY x.position)
        INTO n, m, msg
        FROM nextcrm_v_cmp x WHERE x.collection = c.collection AND x.kind = ANY (f.kinds);
      INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
      VALUES ('conversions', c.collection, f.label, CASE WHEN m = 0 THEN 'pass' ELSE 'fail' END,
              n || ' equal', (n - m) || ' equal', left(msg, 2000));
    END LOOP;
  END LOOP;

  RAISE DEBUG 'nextcrm_validate: sample reports after %', clock_timestamp() - t0;
  ---------------------------------------------------------------------------
  -- Kept aside: a collection kept whole has each document in kept_aside or
  -- in the error table, sampled ones exactly as the source holds them; a
  -- field kept aside is there, exactly, for each sampled document holding it.
  ---------------------------------------------------------------------------
  FOR c IN SELECT k.collection, bool_or(k.whole) AS whole, max(s.documents) AS source_count
             FROM nextcrm_v_kept k
             LEFT JOIN nextcrm_v_src s ON s.kind = 'count' AND s.collection = k.collection
            WHERE k.kind = 'kept' GROUP BY k.collection ORDER BY k.collection LOOP
    IF c.whole THEN
      SELECT count(DISTINCT a.source_id) INTO n FROM nextcrm_migration.kept_aside a
       WHERE a.collection = c.collection AND a.field IS NULL;
      SELECT count(DISTINCT e.source_id) INTO m FROM nextcrm_migration.errors e
       WHERE e.collection = c.collection;
      INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
      VALUES ('counts', c.collection, 'row count',
              CASE WHEN c.source_count = n + m THEN 'pass' ELSE 'fail' END,
              c.source_count::text, (n + m)::text,
              format('source %s documents; %s kept aside whole + %s in the error table',
                     c.source_count, n, m));
      SELECT count(*), string_agg(x, ', ') INTO n, msg FROM (
        SELECT s.source_id AS x FROM nextcrm_v_ids s WHERE s.collection = c.collection
           AND NOT EXISTS (SELECT 1 FROM nextcrm_migration.kept_aside a
                            WHERE a.collection = s.collection AND a.source_id = s.source_id
                              AND a.field IS NULL)
           AND NOT EXISTS (SELECT 1 FROM nextcrm_migration.errors e
                            WHERE e.collection = s.collection AND e.source_id = s.source_id)) l;
      INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
      VALUES ('counts', c.collection, 'documents accounted',
              CASE WHEN n = 0 THEN 'pass' ELSE 'fail' END, '0 missing', n || ' missing',
              CASE WHEN n > 0 THEN 'source documents neither kept aside nor in the error table: '
                                   || left(msg, 500) END);
      SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (
               SELECT 1 FROM nextcrm_migration.kept_aside a
                WHERE a.collection = s.collection AND a.source_id = s.source_id
                  AND a.field IS NULL AND a.document = s.doc)),
             string_agg(s.source_id, ', ') FILTER (WHERE NOT EXISTS (
               SELECT 1 FROM nextcrm_migration.kept_aside a
                WHERE a.collection = s.collection AND a.source_id = s.source_id
                  AND a.field IS NULL AND a.document = s.doc))
        INTO n, m, msg
        FROM nextcrm_v_sample s
       WHERE s.collection = c.collection
         AND NOT EXISTS (SELECT 1 FROM nextcrm_migration.errors e
                          WHERE e.collection = s.collection AND e.source_id = s.source_id);
      INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
      VALUES ('kept_aside', c.collection, 'documents kept whole',
              CASE WHEN m = 0 THEN 'pass' ELSE 'fail' END, n || ' exact', (n - m) || ' exact',
              CASE WHEN m > 0 THEN 'sampled documents not kept exactly: ' || left(msg, 500) END);
    ELSE
      SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (
               SELECT 1 FROM nextcrm_migration.kept_aside a
                WHERE a.collection = s.collection AND a.source_id = s.source_id
                  AND a.field = k.stored_key
                  AND a.document = jsonb_build_object(k.stored_key, s.doc -> k.stored_key))),
             string_agg(s.source_id || '.' || k.stored_key, ', ') FILTER (WHERE NOT EXISTS (
               SELECT 1 FROM nextcrm_migration.kept_aside a
                WHERE a.collection = s.collection AND a.source_id = s.source_id
                  AND a.field = k.stored_key
                  AND a.document = jsonb_build_object(k.stored_key, s.doc -> k.stored_key)))
        INTO n, m, msg
        FROM nextcrm_v_sample s
        JOIN nextcrm_v_kept k ON k.collection = s.collection AND k.kind = 'kept'
                             AND s.doc ? k.stored_key
       WHERE s.collection = c.collection
         AND NOT EXISTS (SELECT 1 FROM nextcrm_migration.errors e
                          WHERE e.collection = s.collection AND e.source_id = s.source_id);
      INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
      VALUES ('kept_aside', c.collection, 'fields kept aside',
              CASE WHEN m = 0 THEN 'pass' ELSE 'fail' END, n || ' exact', (n - m) || ' exact',
              CASE WHEN m > 0 THEN 'sampled fields not kept exactly: ' || left(msg, 500) END);
    END IF;
  END LOOP;
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
    -- Required fields are not null (also when NOT NULL was dropped), and
    -- enum values are labels of the profile's enums (mongo-enums.csv), not
    -- merely of whatever the PostgreSQL type holds now.  One scan each; only when it finds
    -- violations are they read against the source's own documents: a
    -- violation the source holds the same way (the key missing or null; the
    -- same value that is no label) is a warning counted as the source's,
    -- one the migration (or a later change) made fails.
    FOR fam IN SELECT unnest(ARRAY['required not null', 'enum values']) LOOP
      n := 0;
      m := 0;
      q := NULL;
      e_expr := NULL;
      FOR f IN SELECT mm.target_column, mm.stored_key, mm.pg_type, mm.kind FROM nextcrm_v_map mm
                WHERE mm.collection = c.collection
                  AND CASE WHEN fam = 'required not null'
                           THEN mm.required AND mm.kind <> 'junction'
                           ELSE mm.kind = 'enum' END
                ORDER BY mm.target_column LOOP
        -- bad: the target breaks the rule; held: the source does the same.
        -- (The id and the version are never read from the source as rule
        -- keys: a NULL there is the migration's.)
        IF fam = 'required not null' THEN
          a_expr := format('t.%I IS NULL', f.target_column);
          d_fmt := CASE WHEN f.kind IN ('id', 'version') THEN 'false'
                        ELSE format('s.doc IS NOT NULL AND coalesce(s.doc->%L, ''null''::jsonb) = ''null''::jsonb',
                                    f.stored_key) END;
        ELSE
          a_expr := format('t.%1$I IS NOT NULL AND t.%1$I::text NOT IN (SELECT e.label FROM nextcrm_mapping_enums(%2$L) e WHERE e.enum_type = %3$L)',
                           f.target_column, profile, f.pg_type);
          d_fmt := format('s.doc->>%L IS NOT DISTINCT FROM t.%I::text', f.stored_key, f.target_column);
        END IF;
        e_expr := concat_ws(' UNION ALL ', e_expr,
          format('SELECT %L, coalesce(%s, false) FROM %I t
                    LEFT JOIN nextcrm_v_src s ON s.kind = ''rule'' AND s.collection = %L AND s.id = t.id
                   WHERE %s',
                 f.target_column, d_fmt, c.collection, c.collection, a_expr));
        q := concat_ws(' + ', q, format('count(*) FILTER (WHERE %s)', a_expr));
      END LOOP;
      CONTINUE WHEN e_expr IS NULL;
      EXECUTE format('SELECT %s FROM %I t', q, c.collection) INTO n;
      q := NULL;
      held_cols := NULL;
      lost_cols := NULL;
      IF n > 0 THEN
        EXECUTE format('SELECT count(*) FILTER (WHERE held), count(*) FILTER (WHERE NOT held),
                               string_agg(DISTINCT col, '', '') FILTER (WHERE held),
                               string_agg(DISTINCT col, '', '') FILTER (WHERE NOT held)
                          FROM (%s) x(col, held)', e_expr) INTO n, m, held_cols, lost_cols;
      END IF;
      INSERT INTO nextcrm_v_result (family, "table", "check", status, expected, actual, details)
      VALUES ('field_rules', c.collection, fam,
              CASE WHEN m > 0 THEN 'fail' WHEN n > 0 THEN 'warn' ELSE 'pass' END,
              CASE WHEN fam = 'required not null' THEN '0 nulls' ELSE '0 outside' END,
              (n + m) || CASE WHEN fam = 'required not null' THEN ' nulls' ELSE ' outside' END,
              nullif(concat_ws('; ',
                CASE WHEN n > 0 THEN n || ' held by the source (' ||
                  CASE WHEN fam = 'required not null'
                       THEN 'required fields the source leaves missing or null: ' || held_cols
                       ELSE 'values that are no label of their enum in the profile''s schema, as the source holds them: ' || held_cols END
                  || ')' END,
                CASE WHEN m > 0 THEN m || ' introduced by the migration (' ||
                  CASE WHEN fam = 'required not null'
                       THEN 'NULL in a required field: ' || lost_cols
                       ELSE 'values that are no label of their enum in the profile''s schema: ' || lost_cols END
                  || ')' END), ''));
    END LOOP;

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
  DROP VIEW nextcrm_v_ids, nextcrm_v_pairs, nextcrm_v_sample;
  DROP TABLE nextcrm_v_src, nextcrm_v_map, nextcrm_v_cmp, nextcrm_v_rep, nextcrm_v_result;
END
$fn$;

-- The same report, and an ERROR naming the failed checks when any failed
-- (for scripts: psql -v ON_ERROR_STOP=1 exits non-zero).  Each failed check
-- is also a NOTICE, since the rows are lost with the error.
CREATE OR REPLACE FUNCTION nextcrm_validate_strict(server name, seed double precision DEFAULT NULL,
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
