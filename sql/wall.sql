-- The two walls between C++ and PostgreSQL.  The debug entry points are not
-- part of the extension's SQL API; create them by symbol for this test.
CREATE FUNCTION debug_throw(text) RETURNS text
  AS 'nextcrm_mongo_fdw', 'nextcrm_debug_throw' LANGUAGE C STRICT;
CREATE FUNCTION debug_pg_error_under_cpp() RETURNS int4
  AS 'nextcrm_mongo_fdw', 'nextcrm_debug_pg_error_under_cpp' LANGUAGE C STRICT;
CREATE FUNCTION debug_destructor_runs() RETURNS int4
  AS 'nextcrm_mongo_fdw', 'nextcrm_debug_destructor_runs' LANGUAGE C STRICT;

-- What an error looked like to SQL: SQLSTATE, message, detail and hint.
CREATE FUNCTION caught(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text; det text; hnt text;
BEGIN
  EXECUTE stmt;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                          det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
  RETURN format('%s: %s [detail: %s] [hint: %s]', st, msg, det, hnt);
END $$;

-- PostgreSQL -> C++: every kind of C++ exception becomes an ERROR with a
-- proper SQLSTATE, and the C++ frame is unwound on the way (destructor runs).
SELECT debug_destructor_runs() AS runs_before;
SELECT caught($$SELECT debug_throw('nextcrm')$$);
SELECT caught($$SELECT debug_throw('std')$$);
SELECT caught($$SELECT debug_throw('bad_alloc')$$);
SELECT caught($$SELECT debug_throw('other')$$);
SELECT debug_throw('none');
SELECT debug_destructor_runs() AS runs_after_throws;

-- An uncaught one ends only the statement; the session goes on.
SELECT debug_throw('std');
SELECT 'session still alive' AS status;

-- C++ -> PostgreSQL: a PostgreSQL error raised under a live C++ object
-- unwinds that object and surfaces as the original error.
SELECT caught($$SELECT debug_pg_error_under_cpp()$$);
SELECT debug_pg_error_under_cpp();
SELECT debug_destructor_runs() AS runs_after_pg_errors;

-- Soft-error input: a value the type refuses is a SQLSTATE, not an ERROR,
-- and leaves nothing behind (on 15 a rolled-back subtransaction), so the
-- transaction goes on and commits.
CREATE FUNCTION debug_input_soft(regtype, text) RETURNS text
  AS 'nextcrm_mongo_fdw', 'nextcrm_debug_input_soft' LANGUAGE C STRICT;
BEGIN;
SELECT debug_input_soft('jsonb', '{"a": [1, "x"]}');
SELECT debug_input_soft('jsonb', '{"a": "nul \u0000 here"}');
SELECT debug_input_soft('jsonb', '{"a": ');
SELECT debug_input_soft('int4', '99999999999');
SELECT debug_input_soft('uuid', 'not a uuid');
SELECT debug_input_soft('timestamp', '2024-02-30 10:00');
SELECT count(*) AS refused FROM generate_series(1, 200) i
 WHERE debug_input_soft('jsonb', '{' || i) LIKE 'refused: 22P02';
SAVEPOINT after_refusals;
SELECT debug_input_soft('int4', '42');
ROLLBACK TO SAVEPOINT after_refusals;
COMMIT;
SELECT 'transaction committed' AS status;
DROP FUNCTION debug_input_soft(regtype, text);

DROP FUNCTION caught(text);
DROP FUNCTION debug_throw(text);
DROP FUNCTION debug_pg_error_under_cpp();
DROP FUNCTION debug_destructor_runs();
