-- CREATE EXTENSION installs the wrapper and its functions; DROP removes all.
CREATE EXTENSION nextcrm_mongo_fdw;

SELECT fdwname, fdwhandler::regproc, fdwvalidator::regproc
  FROM pg_foreign_data_wrapper WHERE fdwname = 'nextcrm_mongo_fdw';

SELECT nextcrm_mongo_fdw_version()
       ~ '^nextcrm_mongo_fdw 0\.2\.0 \(libmongoc [12]\.[0-9]+\.[0-9]+, libbson [12]\.[0-9]+\.[0-9]+, PostgreSQL [0-9]+'
       AS version_names_all_three;

SELECT pg_describe_object(classid, objid, 0) AS member
  FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'nextcrm_mongo_fdw')
   AND deptype = 'e'
 ORDER BY 1;

-- Reaching a source is not granted to PUBLIC.
SELECT has_function_privilege('public', 'nextcrm_mongo_collections(name)', 'EXECUTE')
       AS public_can_list;

DROP EXTENSION nextcrm_mongo_fdw;

SELECT count(*) AS wrappers_left FROM pg_foreign_data_wrapper WHERE fdwname = 'nextcrm_mongo_fdw';
SELECT count(*) AS functions_left FROM pg_proc WHERE proname LIKE 'nextcrm%';
