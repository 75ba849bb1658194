-- The main job, as a user would type it into psql.
\set QUIET on
\pset footer off
CREATE EXTENSION nextcrm_mongo_fdw;
CREATE SERVER nextcrm_mongo FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (:server_options);
CREATE USER MAPPING FOR CURRENT_USER SERVER nextcrm_mongo;
\set QUIET off

\echo
\echo '== versions'
SELECT nextcrm_mongo_fdw_version();

\echo
\echo '== source: collections and document counts'
SELECT * FROM nextcrm_mongo_collections('nextcrm_mongo');

\echo
\echo '== migration: one NOTICE per batch of 1000, then one row per collection'
SELECT * FROM nextcrm_migrate_all('nextcrm_mongo');

\echo
\echo '== documents that did not arrive, and why'
SELECT collection, field, sqlstate, message FROM nextcrm_migration.errors ORDER BY collection, id;

\echo
\echo '== values changed to fit, by kind'
SELECT kind, count(*) AS values, count(DISTINCT (collection, source_id)) AS documents
  FROM nextcrm_migration.repairs GROUP BY kind ORDER BY 2 DESC;

\echo
\echo '== unknown keys kept per document'
SELECT collection, count(*) AS documents FROM nextcrm_migration.extra_keys GROUP BY 1 ORDER BY 1;

\echo
\echo '== validation: the target against the source (failures, warnings and the verdict)'
SELECT family, "table", "check", status, expected, actual, details
  FROM nextcrm_validate('nextcrm_mongo', seed => 1)
 WHERE status <> 'pass' OR family = 'summary';

\echo
\echo '== validation: checks per family'
SELECT family, count(*) AS checks, count(*) FILTER (WHERE status = 'pass') AS passed,
       count(*) FILTER (WHERE status = 'fail') AS failed,
       count(*) FILTER (WHERE status = 'warn') AS warnings
  FROM nextcrm_validate('nextcrm_mongo', seed => 1)
 WHERE family <> 'summary' GROUP BY family ORDER BY family;
