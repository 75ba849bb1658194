-- Foreign tables over the rig's FerretDB (seed data in nextcrm_regress):
-- types, whole documents, pushdown and its EXPLAIN, errors that name the
-- document.
\getenv mongo_uri MONGO_URI
CREATE EXTENSION nextcrm_mongo_fdw;
CREATE SERVER ferret FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri :'mongo_uri', database 'nextcrm_regress');
CREATE USER MAPPING FOR CURRENT_USER SERVER ferret;

CREATE FOREIGN TABLE stages (
  _id text, name text, probability int4, "order" int8, __v int2,
  prob_f float8 OPTIONS (field 'probability'), prob_n numeric OPTIONS (field 'probability'),
  id_bytes bytea OPTIONS (field '_id'), doc jsonb OPTIONS (document 'true')
) SERVER ferret OPTIONS (collection 'crm_Opportunities_Sales_Stages');

SELECT _id, name, probability, "order", __v, prob_f, prob_n, id_bytes FROM stages ORDER BY _id;
SELECT doc FROM stages WHERE name = 'New';
-- A missing field and BSON null are both NULL.
SELECT count(*) FILTER (WHERE "order" IS NULL) AS no_order FROM stages;

-- Pushdown: filter, projection, sort and limit are sent to MongoDB.
EXPLAIN (VERBOSE, COSTS OFF)
SELECT name FROM stages WHERE probability >= 45 AND name <> 'Signing' ORDER BY _id LIMIT 3;
SELECT name FROM stages WHERE probability >= 45 AND name <> 'Signing' ORDER BY _id LIMIT 3;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT name FROM stages WHERE NOT (probability < 50 OR "order" IS NULL) OR probability IN (10, 95);
SELECT name FROM stages WHERE NOT (probability < 50 OR "order" IS NULL) OR probability IN (10, 95)
  ORDER BY name;
-- A text constant of 24 hex digits also matches the ObjectId it spells.
EXPLAIN (VERBOSE, COSTS OFF) SELECT name FROM stages WHERE _id = '659200807e2fcd1cc2000000';
SELECT name FROM stages WHERE _id = '659200807e2fcd1cc2000000';
SELECT count(*) FROM stages WHERE _id NOT IN ('659200807e2fcd1cc2000000', '659200817e2fcd1cc2000001');
-- Not pushed: functions, text ranges, ORDER BY on a column whose NULLs sort differently.
EXPLAIN (VERBOSE, COSTS OFF) SELECT name FROM stages WHERE lower(name) = 'new' AND name > 'A';
EXPLAIN (VERBOSE, COSTS OFF) SELECT name FROM stages ORDER BY "order" LIMIT 2;

-- The same answers with pushdown off.
SET nextcrm_mongo_fdw.pushdown = off;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT name FROM stages WHERE probability >= 45 AND name <> 'Signing' ORDER BY _id LIMIT 3;
SELECT name FROM stages WHERE probability >= 45 AND name <> 'Signing' ORDER BY _id LIMIT 3;
RESET nextcrm_mongo_fdw.pushdown;

-- A value that does not convert is an error naming collection, _id, field,
-- BSON type and column type.
CREATE FOREIGN TABLE stages_bad (_id text, name int4)
  SERVER ferret OPTIONS (collection 'crm_Opportunities_Sales_Stages');
SELECT * FROM stages_bad;
CREATE FOREIGN TABLE stages_bool (_id text, probability bool)
  SERVER ferret OPTIONS (collection 'crm_Opportunities_Sales_Stages');
SELECT * FROM stages_bool WHERE _id = '659200807e2fcd1cc2000000';
CREATE FOREIGN TABLE stages_small (probability int2, name varchar(4))
  SERVER ferret OPTIONS (collection 'crm_Opportunities_Sales_Stages');
SELECT * FROM stages_small WHERE probability = 10;
SELECT * FROM stages_small WHERE probability = 25;

-- A domain's constraint on the value is the value's fault, named as above;
-- any other error raised while a value is converted (a cancel among them) is
-- passed on as it was raised.
CREATE DOMAIN lower_name AS text CHECK (VALUE ~ '^[a-z]');
CREATE FOREIGN TABLE stages_domain (_id text, name lower_name)
  SERVER ferret OPTIONS (collection 'crm_Opportunities_Sales_Stages');
SELECT * FROM stages_domain WHERE _id = '659200807e2fcd1cc2000000';
CREATE FUNCTION cancel_now(text) RETURNS bool LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'canceling statement due to user request' USING ERRCODE = 'query_canceled';
END
$$;
CREATE DOMAIN cancelled_name AS text CHECK (cancel_now(VALUE));
CREATE FOREIGN TABLE stages_cancel (_id text, name cancelled_name)
  SERVER ferret OPTIONS (collection 'crm_Opportunities_Sales_Stages');
\set SHOW_CONTEXT never
SELECT * FROM stages_cancel WHERE _id = '659200807e2fcd1cc2000000';
\set VERBOSITY sqlstate
SELECT * FROM stages_cancel WHERE _id = '659200807e2fcd1cc2000000';
\set VERBOSITY default
\set SHOW_CONTEXT errors
DROP DOMAIN lower_name, cancelled_name CASCADE;
DROP FUNCTION cancel_now(text);

DROP EXTENSION nextcrm_mongo_fdw CASCADE;
