-- Options are validated like postgres_fdw's: unknown names fail with a hint
-- listing the valid ones, and credentials live only in user mappings.
CREATE EXTENSION nextcrm_mongo_fdw;

CREATE SERVER unreachable FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri 'mongodb://127.0.0.1:1/', database 'nextcrm', server_selection_timeout_ms '300');
-- A path is not looked at when the server is defined (file_fdw's rule): a
-- pg_dump of a migrated database restores its server on a host without the
-- dump.  Reading the server names the missing path (below).
CREATE SERVER backup FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (dump_dir '/nonexistent');

CREATE SERVER bad FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (host 'x');
CREATE SERVER bad FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri 'mongodb://127.0.0.1/', password 'secret');
CREATE SERVER bad FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri 'mongodb://crm:secret@127.0.0.1/');
-- libmongoc ignores an option it does not know, password among them: the
-- check reads the URI's own text.
CREATE SERVER bad FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri 'mongodb://127.0.0.1/?password=SEKRET');
CREATE SERVER bad FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (uri 'http://127.0.0.1/');
CREATE SERVER bad FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri 'mongodb://127.0.0.1/', dump_dir '/backups');
CREATE SERVER bad FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri 'mongodb://127.0.0.1/', connect_timeout_ms '0');
ALTER SERVER unreachable OPTIONS (ADD dump_dir '/backups');
ALTER FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (ADD anything 'x');

CREATE USER MAPPING FOR CURRENT_USER SERVER unreachable OPTIONS (uri 'mongodb://x/');
CREATE USER MAPPING FOR CURRENT_USER SERVER unreachable OPTIONS (username 'crm', password 'p');

CREATE FOREIGN TABLE accounts (name text OPTIONS (field 'name'), doc jsonb OPTIONS (document 'true'))
  SERVER unreachable OPTIONS (collection 'crm_Accounts');
CREATE FOREIGN TABLE bad (name text) SERVER unreachable OPTIONS (uri 'mongodb://x/');
CREATE FOREIGN TABLE bad (name text OPTIONS (document 'yes')) SERVER unreachable;

-- An unreachable server is an error, bounded by the server-selection timeout.
CREATE FUNCTION sqlstate_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE stmt;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END $$;
SELECT sqlstate_of($$SELECT * FROM nextcrm_mongo_collections('unreachable')$$);
SELECT sqlstate_of($$SELECT * FROM nextcrm_mongo_collections('no_such_server')$$);
SELECT * FROM nextcrm_mongo_collections('backup');

-- A non-superuser must authenticate with a password.
CREATE ROLE regress_nextcrm_user;
GRANT USAGE ON FOREIGN SERVER unreachable TO regress_nextcrm_user;
GRANT EXECUTE ON FUNCTION nextcrm_mongo_collections(name) TO regress_nextcrm_user;
CREATE USER MAPPING FOR regress_nextcrm_user SERVER unreachable OPTIONS (username 'crm');
SET ROLE regress_nextcrm_user;
SELECT * FROM nextcrm_mongo_collections('unreachable');
RESET ROLE;
-- A password without a username would never be sent: the backend would
-- connect unauthenticated, with whatever the MongoDB server grants its host.
ALTER USER MAPPING FOR regress_nextcrm_user SERVER unreachable
  OPTIONS (DROP username, ADD password 'p');
SET ROLE regress_nextcrm_user;
SELECT * FROM nextcrm_mongo_collections('unreachable');
RESET ROLE;

DROP FUNCTION sqlstate_of(text);
DROP EXTENSION nextcrm_mongo_fdw CASCADE;
DROP ROLE regress_nextcrm_user;
