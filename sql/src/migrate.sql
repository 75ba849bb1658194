-- Migrates every collection of the server's database into the schema of a
-- profile (profile => name of an installed profile, default 'nextcrm';
-- created from the profile's migrations when the database has none; a
-- profile that runs the application's own migrations reads them from its
-- checkout, app_dir => the directory holding prisma/, or prisma/ itself),
-- in batches of 1000 that each commit with their checkpoint.  Interrupt it at
-- any time; calling it again resumes.  restart => true starts over.
-- outcome: 'done', 'failed: <why>' (a damaged or unreadable dump file: the
-- documents before the damage are migrated) or 'skipped: depends on failed
-- <collection>'; other states ('pending', 'running') when it did not finish.
CREATE FUNCTION nextcrm_migrate_all(server name, restart boolean DEFAULT false,
                                    profile text DEFAULT 'nextcrm', app_dir text DEFAULT '',
                                    OUT collection text, OUT source_count bigint,
                                    OUT migrated bigint, OUT failed bigint, OUT repaired bigint,
                                    OUT seconds double precision,
                                    OUT docs_per_second double precision,
                                    OUT outcome text)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

-- The same for one collection.
CREATE FUNCTION nextcrm_migrate_table(server name, source_collection text,
                                      restart boolean DEFAULT false,
                                      profile text DEFAULT 'nextcrm', app_dir text DEFAULT '',
                                      OUT collection text, OUT source_count bigint,
                                      OUT migrated bigint, OUT failed bigint, OUT repaired bigint,
                                      OUT seconds double precision,
                                      OUT docs_per_second double precision,
                                      OUT outcome text)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

-- After a complete migration: migrates again only the documents listed in the
-- error table (after the data or the mapping was fixed), replacing their
-- error rows with the new outcome.
CREATE FUNCTION nextcrm_retry_errors(server name, profile text DEFAULT 'nextcrm',
                                     app_dir text DEFAULT '',
                                     OUT collection text, OUT source_count bigint,
                                     OUT migrated bigint, OUT failed bigint, OUT repaired bigint,
                                     OUT seconds double precision,
                                     OUT docs_per_second double precision,
                                     OUT outcome text)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

-- Only superusers and roles granted these functions run a migration; they
-- also need the privileges to write the target tables.
REVOKE ALL ON FUNCTION nextcrm_migrate_all(name, boolean, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION nextcrm_migrate_table(name, text, boolean, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION nextcrm_retry_errors(name, text, text) FROM PUBLIC;
