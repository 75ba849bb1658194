-- The main job, as a user would type it into psql.
\set QUIET on
\pset footer off
CREATE EXTENSION nextcrm_mongo_fdw;
CREATE SERVER nextcrm_mongo FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri :'mongo_uri', database 'nextcrm');
CREATE USER MAPPING FOR CURRENT_USER SERVER nextcrm_mongo;
\set QUIET off

\echo
\echo '== versions'
SELECT nextcrm_mongo_fdw_version();

\echo
\echo '== source: collections and document counts'
SELECT * FROM nextcrm_mongo_collections('nextcrm_mongo');
