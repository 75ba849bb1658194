-- pgTAP: the extension's objects, as a DBA would check them after install.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION nextcrm_mongo_fdw;
SELECT plan(7);

SELECT has_extension('nextcrm_mongo_fdw', 'extension is installed');
SELECT is((SELECT fdwhandler::regproc::text FROM pg_foreign_data_wrapper
            WHERE fdwname = 'nextcrm_mongo_fdw'),
          'nextcrm_mongo_fdw_handler', 'wrapper uses the extension''s handler');
SELECT is((SELECT fdwvalidator::regproc::text FROM pg_foreign_data_wrapper
            WHERE fdwname = 'nextcrm_mongo_fdw'),
          'nextcrm_mongo_fdw_validator', 'wrapper uses the extension''s validator');
SELECT has_function('nextcrm_mongo_fdw_version', 'version function exists');
SELECT function_returns('nextcrm_mongo_collections', ARRAY['name'], 'setof record',
                        'collections function returns a set');
SELECT throws_ok($$CREATE SERVER s FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (port '1')$$,
                 'HV00D', 'invalid option "port"', 'unknown server option is rejected');
SELECT lives_ok($$CREATE SERVER s FOREIGN DATA WRAPPER nextcrm_mongo_fdw
                  OPTIONS (uri 'mongodb://127.0.0.1/', database 'nextcrm')$$,
                'valid server options are accepted');

SELECT * FROM finish();
ROLLBACK;
