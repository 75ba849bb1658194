-- A mongodump --archive --gzip as a server, on every version: the option's
-- check, the collections it lists with their counts, a scan and EXPLAIN's
-- line for the archive.  These are the PostgreSQL-side parts of the archive
-- path (src/fdw_table.cpp, src/option_validate.cpp, src/fdw_explain.cpp,
-- src/source_functions.cpp); the readers are src/core/'s, which the dump_*
-- integration scripts test.  The archive is test/fixtures/mongodump's,
-- found beside the regress fixture.
SELECT regexp_replace(current_setting('nextcrm_test.fixture_dir'), 'regress_dump$', '')
       AS fixtures,
       regexp_replace(current_setting('nextcrm_test.fixture_dir'), 'regress_dump$',
                      'mongodump/nextcrm.archive.gz') AS archive \gset
CREATE EXTENSION nextcrm_mongo_fdw;
CREATE SERVER arch FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (archive :'archive');
CREATE USER MAPPING FOR CURRENT_USER SERVER arch;
-- An archive is one source: not beside a dump directory.
CREATE SERVER arch_and_dir FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (archive :'archive', dump_dir :'fixtures');

SELECT collection, documents FROM nextcrm_mongo_collections('arch')
 WHERE collection LIKE 'crm_Opportunities%' ORDER BY collection;

CREATE FOREIGN TABLE stages (_id text, name text, probability int4)
  SERVER arch OPTIONS (collection 'crm_Opportunities_Sales_Stages');
SELECT count(*), min(probability), max(probability) FROM stages;
SELECT count(*) FROM stages WHERE probability >= 50;

-- EXPLAIN names the archive (its path masked: it differs between machines).
CREATE FUNCTION explain_masked(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
    RETURN NEXT replace(line, regexp_replace(current_setting('nextcrm_test.fixture_dir'),
                                              'regress_dump$', ''), '<fixtures>/');
  END LOOP;
END $$;
SELECT explain_masked('SELECT name FROM stages WHERE probability >= 50');

DROP EXTENSION nextcrm_mongo_fdw CASCADE;
DROP FUNCTION explain_masked(text);
