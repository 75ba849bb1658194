-- pgTAP: validates a finished NextCRM migration against its MongoDB source,
-- one test per check of nextcrm_validate().  Run it on the migrated database:
--
--   pg_prove -d nextcrm --set server=nextcrm_mongo \
--       "$(pg_config --sharedir)/extension/nextcrm_mongo_fdw_validate.sql"
--
-- psql variables (pg_prove --set NAME=VALUE): server (default nextcrm_mongo),
-- sample_size (default 100), seed (default: a new sample every run).
-- A failed check is a failed test, so pg_prove exits non-zero; warnings are
-- printed as diagnostics.  Needs the pgtap extension available on the server;
-- everything runs in one transaction that is rolled back.
\set ON_ERROR_STOP 1
\if :{?server}
\else
\set server nextcrm_mongo
\endif
\if :{?sample_size}
\else
\set sample_size 100
\endif
\if :{?seed}
\else
\set seed NULL
\endif

BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE TEMP TABLE nextcrm_validate_report AS
SELECT row_number() OVER () AS n, v.*
  FROM nextcrm_validate(:'server', :seed, :sample_size) v;

SELECT plan((SELECT count(*)::int FROM nextcrm_validate_report));
SELECT ok(r.status <> 'fail',
          concat_ws(' / ', r.family, r."table", r."check")
          || format(': %s (expected %s, actual %s)', r.status, r.expected, r.actual)
          || coalesce(' -- ' || r.details, ''))
  FROM nextcrm_validate_report r ORDER BY r.n;
SELECT diag(format('warning: %s / %s / %s: %s', r.family, r."table", r."check", r.details))
  FROM nextcrm_validate_report r WHERE r.status = 'warn' ORDER BY r.n;
SELECT * FROM finish();
ROLLBACK;
