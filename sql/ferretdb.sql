-- End to end through libmongoc inside the backend: the rig's FerretDB holds
-- NextCRM's seed records in database nextcrm_regress (scripts/test loads it).
\getenv mongo_uri MONGO_URI
CREATE EXTENSION nextcrm_mongo_fdw;
CREATE SERVER ferret FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri :'mongo_uri', database 'nextcrm_regress');
CREATE USER MAPPING FOR CURRENT_USER SERVER ferret;

SELECT * FROM nextcrm_mongo_collections('ferret');
-- The second call reuses the backend's cached client.
SELECT sum(documents) AS seed_documents FROM nextcrm_mongo_collections('ferret');

-- A database that does not exist simply has no collections.
ALTER SERVER ferret OPTIONS (SET database 'nextcrm_no_such_db');
SELECT count(*) AS collections FROM nextcrm_mongo_collections('ferret');

DROP EXTENSION nextcrm_mongo_fdw CASCADE;
