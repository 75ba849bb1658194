-- ALTER EXTENSION ... UPDATE from 0.1.0 (the shipped script) gives the same
-- extension as CREATE EXTENSION at the current version: the same member
-- objects with the same definitions, columns (in the same order),
-- constraints, defaults, indexes, privileges, comments, enum labels and
-- configuration tables.

-- Everything that defines the extension's members, one line each, by name.
CREATE FUNCTION pg_temp.extension_snapshot() RETURNS SETOF text
LANGUAGE sql AS $$
  WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'nextcrm_mongo_fdw'),
  member AS (
    SELECT d.classid, d.objid FROM pg_depend d, ext
     WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e')
  SELECT 'member ' || pg_describe_object(m.classid, m.objid, 0) FROM member m
  UNION ALL
  SELECT 'function ' || pg_get_functiondef(p.oid) || ' acl ' || coalesce(p.proacl::text, '-')
    FROM member m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
   WHERE p.prokind <> 'a'
  UNION ALL
  SELECT format('column %s #%s %s %s %s default %s', c.oid::regclass, a.attnum, a.attname,
                format_type(a.atttypid, a.atttypmod), a.attnotnull,
                pg_get_expr(ad.adbin, ad.adrelid))
    FROM member m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
  UNION ALL
  SELECT format('relation %s %s acl %s', c.oid::regclass, c.relkind, coalesce(c.relacl::text, '-'))
    FROM member m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
  UNION ALL
  SELECT format('constraint %s %s %s', k.conrelid::regclass, k.conname, pg_get_constraintdef(k.oid))
    FROM member m JOIN pg_constraint k ON m.classid = 'pg_class'::regclass AND k.conrelid = m.objid
  UNION ALL
  SELECT format('index %s', pg_get_indexdef(i.indexrelid))
    FROM member m JOIN pg_index i ON m.classid = 'pg_class'::regclass AND i.indrelid = m.objid
  UNION ALL
  SELECT format('view %s %s', c.oid::regclass, pg_get_viewdef(c.oid))
    FROM member m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
   WHERE c.relkind = 'v'
  UNION ALL
  SELECT format('enum %s %s %s', t.oid::regtype, e.enumsortorder, e.enumlabel)
    FROM member m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
    JOIN pg_enum e ON e.enumtypid = t.oid
  UNION ALL
  SELECT format('comment %s %s', pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description)
    FROM member m JOIN pg_description d ON d.classoid = m.classid AND d.objoid = m.objid
  UNION ALL
  SELECT format('configuration %s %s', c::regclass, w)
    FROM pg_extension x, unnest(x.extconfig, x.extcondition) u(c, w)
   WHERE x.extname = 'nextcrm_mongo_fdw'
$$;

CREATE EXTENSION nextcrm_mongo_fdw VERSION '0.1.0';
SELECT extversion FROM pg_extension WHERE extname = 'nextcrm_mongo_fdw';
-- What 0.1.0 recorded under its names comes through under the enum's.
INSERT INTO nextcrm_migration.run (server, status) VALUES ('src', 'complete');
INSERT INTO nextcrm_migration.checkpoint (collection, position, phase)
VALUES ('a', 1, 'loading'), ('b', 2, 'done'), ('c', 3, 'skipped'), ('d', 4, DEFAULT);
ALTER EXTENSION nextcrm_mongo_fdw UPDATE;
SELECT extversion = (SELECT default_version FROM pg_available_extensions
                      WHERE name = 'nextcrm_mongo_fdw') AS updated_to_default
  FROM pg_extension WHERE extname = 'nextcrm_mongo_fdw';
SELECT status, pg_typeof(status) FROM nextcrm_migration.run;
SELECT collection, phase FROM nextcrm_migration.checkpoint ORDER BY position;
SELECT collection, phase FROM nextcrm_migration.progress;
CREATE TEMP TABLE updated AS SELECT s FROM pg_temp.extension_snapshot() s;

DROP EXTENSION nextcrm_mongo_fdw;
CREATE EXTENSION nextcrm_mongo_fdw;
CREATE TEMP TABLE fresh AS SELECT s FROM pg_temp.extension_snapshot() s;

-- The snapshot reads every kind of member (so an empty difference means
-- something) ...
SELECT split_part(s, ' ', 1) AS kind, count(*) > 0 AS seen
  FROM fresh GROUP BY 1 ORDER BY 1;
-- ... and the two extensions differ in nothing.
SELECT 'after update only' AS side, s FROM (TABLE updated EXCEPT TABLE fresh) u
UNION ALL
SELECT 'fresh only', s FROM (TABLE fresh EXCEPT TABLE updated) f
ORDER BY 1, 2;

-- pg_dump keeps every table of the migration's record with the data (a
-- configuration table) but the batch log, which only feeds the NOTICEs: a
-- stopped run's deferred indexes among them, or a target restored before it
-- resumes would never build them.
SELECT c.relname FROM pg_class c
 WHERE c.relnamespace = 'nextcrm_migration'::regnamespace AND c.relkind = 'r'
   AND c.oid <> ALL (SELECT unnest(extconfig) FROM pg_extension
                      WHERE extname = 'nextcrm_mongo_fdw')
 ORDER BY 1;

DROP EXTENSION nextcrm_mongo_fdw;
