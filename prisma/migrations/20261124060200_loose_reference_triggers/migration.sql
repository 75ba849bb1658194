-- The 23 former loose references (createdBy, updatedBy, last_activity_by,
-- last_updated_by, Sections.board, crm_Opportunities.contact,
-- crm_Contacts.account) are plain scalars in schema.prisma, exactly as the
-- MongoDB-era application writes them (`createdBy: userId` beside a to-one
-- `connect` fits Prisma's input types only then).  A foreign key the data
-- model does not declare is drift for Prisma, so their foreign keys become
-- triggers, which Prisma does not read, with the same effect:
--
--   * on the referencing table, after each INSERT or UPDATE of a row with a
--     new non-NULL key, the key must name an existing row, which is locked
--     FOR KEY SHARE as PostgreSQL's own foreign-key check locks it, so a
--     concurrent DELETE of that row waits for this transaction and then sees
--     the reference (or, in the other order, the reference is refused),
--   * on the referenced table, after each DELETE statement, the foreign key's
--     ON DELETE action (SET NULL, or RESTRICT for Sections.board), after each
--     change of a row's id, ON UPDATE CASCADE, and after TRUNCATE, a refusal
--     while referencing rows are left (a foreign key refuses the TRUNCATE).
--
-- Violations are reported as PostgreSQL reports a foreign-key violation
-- (SQLSTATE foreign_key_violation, the constraint's former name), so Prisma
-- Client still answers P2003.  data/nextcrm/README.md ("Loose references")
-- and docs/MIGRATING.md §9 say what this means for the application and the
-- DBA.
--
-- The checks are row-level, with WHEN clauses so that only a row with a new
-- non-NULL key pays for one, and static statements whose plans PL/pgSQL
-- keeps: about what the foreign key's own check cost, for single-row writes
-- and for the migration's batch INSERTs alike (bench/loose_refs.sh).  The
-- DELETE action is statement-level with a transition table: one UPDATE per
-- statement and reference.  The referenced and referencing tables are in
-- schema public, where the extension migrates (src/migrate_schema.cpp).
--
-- SECURITY DEFINER because a foreign key checks and acts with the table
-- owner's rights: a role allowed to INSERT into "crm_Contacts" and SELECT
-- "Users" may reference a user, which FOR KEY SHARE would otherwise refuse
-- it (that needs UPDATE on "Users"), and deleting a user sets "createdBy" to
-- NULL without UPDATE on every referencing table.  Safe because: the
-- functions are trigger functions (not callable directly), EXECUTE is revoked
-- from PUBLIC (CREATE TRIGGER needs it, so no one but their owner can attach
-- them to a table of their choosing with arguments of their choosing),
-- search_path is pinned, every name they run is schema-qualified, and the
-- dynamic statements quote every name with format('%I') (the referencing
-- table is looked for in the trigger's own table's schema).
--
-- row_security = off: a foreign key's check and action see every row even
-- under FORCE ROW LEVEL SECURITY. A function runs under the policies, so a
-- policy hiding referencing rows from the owner would make ON DELETE SET
-- NULL skip them and leave them dangling.  With row_security off such a
-- statement fails instead ("query would be affected by row-level security
-- policy"), unless the owner bypasses row-level security (a superuser, or
-- BYPASSRLS), when it works as the foreign key did.

-- After INSERT or UPDATE of a row of the referencing table whose key is
-- non-NULL and new (row level: the triggers' WHEN clauses leave out every
-- other row, so a NULL key, or an UPDATE of other columns, costs nothing).
-- The statements are static, so PL/pgSQL keeps their plans, as PostgreSQL's
-- own check keeps its: one branch per referencing column and per referenced
-- table (the 23 references use seven column names and four tables).
-- TG_ARGV: column, referenced table, constraint name.
CREATE FUNCTION "nextcrm_loose_ref_check"() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET row_security = off
AS $fn$
DECLARE
    col text := TG_ARGV[0];
    parent text := TG_ARGV[1];
    con text := TG_ARGV[2];
    key uuid;
BEGIN
    IF col = 'createdBy' THEN
        key := NEW."createdBy";
    ELSIF col = 'updatedBy' THEN
        key := NEW."updatedBy";
    ELSIF col = 'last_activity_by' THEN
        key := NEW."last_activity_by";
    ELSIF col = 'last_updated_by' THEN
        key := NEW."last_updated_by";
    ELSIF col = 'board' THEN
        key := NEW."board";
    ELSIF col = 'contact' THEN
        key := NEW."contact";
    ELSIF col = 'account' THEN
        key := NEW."account";
    ELSE
        RAISE EXCEPTION 'unknown loose reference column "%" in trigger "%"', col, TG_NAME
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF key IS NULL THEN
        RETURN NULL;
    END IF;
    -- Lock the referenced row, as PostgreSQL's own check does: a row being
    -- deleted makes this wait for its deleter, and is not found once the
    -- DELETE commits.
    IF parent = 'Users' THEN
        PERFORM FROM public."Users" p WHERE p.id OPERATOR(pg_catalog.=) key FOR KEY SHARE OF p;
    ELSIF parent = 'crm_Contacts' THEN
        PERFORM FROM public."crm_Contacts" p WHERE p.id OPERATOR(pg_catalog.=) key FOR KEY SHARE OF p;
    ELSIF parent = 'crm_Accounts' THEN
        PERFORM FROM public."crm_Accounts" p WHERE p.id OPERATOR(pg_catalog.=) key FOR KEY SHARE OF p;
    ELSIF parent = 'Boards' THEN
        PERFORM FROM public."Boards" p WHERE p.id OPERATOR(pg_catalog.=) key FOR KEY SHARE OF p;
    ELSE
        RAISE EXCEPTION 'unknown referenced table "%" in trigger "%"', parent, TG_NAME
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%"',
                TG_TABLE_NAME, con
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = format('Key (%s)=(%s) is not present in table "%s".', col, key, parent),
                  SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME, CONSTRAINT = con;
    END IF;
    RETURN NULL;
END
$fn$;

-- After DELETE (statement level) or TRUNCATE on the referenced table.
-- TG_ARGV: referencing table, its column, ON DELETE action ('SET NULL' or
-- 'RESTRICT'), constraint name.
CREATE FUNCTION "nextcrm_loose_ref_action"() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET row_security = off
AS $fn$
DECLARE
    child text := TG_ARGV[0];
    col text := TG_ARGV[1];
    action text := TG_ARGV[2];
    con text := TG_ARGV[3];
    key uuid;
    hint text;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        -- Refused, as for a foreign key, unless the referencing rows went
        -- too (truncated in the same statement, or their column is NULL).
        -- An empty file holds no row, committed or not, whatever the
        -- snapshot.  Otherwise the rows are read, which is sound only with a
        -- snapshot taken now, after TRUNCATE's ACCESS EXCLUSIVE lock: under
        -- REPEATABLE READ or SERIALIZABLE the transaction's older snapshot
        -- misses a reference committed since, so the TRUNCATE is refused
        -- without reading.
        IF pg_catalog.pg_relation_size(pg_catalog.format('%I.%I', TG_TABLE_SCHEMA, child)::pg_catalog.regclass)
               OPERATOR(pg_catalog.>) 0 THEN
            IF pg_catalog.current_setting('transaction_isolation') OPERATOR(pg_catalog.=) 'read committed' THEN
                EXECUTE format('SELECT t.%I FROM %I.%I t WHERE t.%1$I IS NOT NULL LIMIT 1',
                               col, TG_TABLE_SCHEMA, child)
                    INTO key;
                hint := format('Truncate table "%s" at the same time, or set its column "%s" to NULL first.',
                               child, col);
            ELSE
                key := '00000000-0000-0000-0000-000000000000';
                hint := format('Truncate table "%s" at the same time, or truncate in a READ COMMITTED transaction'
                               ' once its column "%s" is NULL.', child, col);
            END IF;
        END IF;
        IF key IS NOT NULL THEN
            RAISE EXCEPTION 'cannot truncate a table referenced in a foreign key constraint'
                USING ERRCODE = 'feature_not_supported',
                      DETAIL = format('Table "%s" references "%s" (constraint "%s").', child, TG_TABLE_NAME, con),
                      HINT = hint;
        END IF;
        RETURN NULL;
    END IF;
    -- A foreign key acts per row, in the order the rows changed, and this
    -- action runs once, after the statement, when the row-level ON UPDATE
    -- CASCADE of an id changed in the same statement has already run.  If a
    -- deleted key is there again (another row's id changed to it, or a row
    -- inserted with it), the references to it may have been moved there by
    -- that cascade and must not be set NULL: the statement is refused rather
    -- than lose them.
    EXECUTE format('SELECT o.id FROM nextcrm_old o'
                   ' WHERE EXISTS (SELECT FROM %I.%I p WHERE p.id OPERATOR(pg_catalog.=) o.id)'
                   ' AND EXISTS (SELECT FROM %I.%I t WHERE t.%I OPERATOR(pg_catalog.=) o.id) LIMIT 1',
                   TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_TABLE_SCHEMA, child, col)
        INTO key;
    IF key IS NOT NULL THEN
        RAISE EXCEPTION 'cannot delete a referenced key and create it again in the same statement'
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = format('Key (id)=(%s) of table "%s" is deleted and present again, and referenced'
                                  ' from table "%s" (constraint "%s").', key, TG_TABLE_NAME, child, con),
                  HINT = 'Delete the row and create or rename the other one in separate statements.';
    END IF;
    IF action = 'SET NULL' THEN
        EXECUTE format('UPDATE %I.%I t SET %I = NULL'
                       ' WHERE t.%3$I OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT o.id FROM nextcrm_old o))',
                       TG_TABLE_SCHEMA, child, col);
    ELSIF action = 'RESTRICT' THEN
        EXECUTE format('SELECT t.%I FROM %I.%I t'
                       ' WHERE t.%1$I OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT o.id FROM nextcrm_old o))'
                       ' LIMIT 1 FOR KEY SHARE OF t',
                       col, TG_TABLE_SCHEMA, child)
            INTO key;
        IF key IS NOT NULL THEN
            RAISE EXCEPTION 'update or delete on table "%" violates foreign key constraint "%" on table "%"',
                    TG_TABLE_NAME, con, child
                USING ERRCODE = 'foreign_key_violation',
                      DETAIL = format('Key (id)=(%s) is still referenced from table "%s".', key, child),
                      SCHEMA = TG_TABLE_SCHEMA, TABLE = child, CONSTRAINT = con;
        END IF;
    ELSE
        RAISE EXCEPTION 'unknown referential action "%" in trigger "%"', action, TG_NAME
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN NULL;
END
$fn$;

-- After UPDATE on the referenced table (row level, only when the id
-- changed): ON UPDATE CASCADE.  TG_ARGV: referencing table, its column.
CREATE FUNCTION "nextcrm_loose_ref_cascade"() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET row_security = off
AS $fn$
BEGIN
    EXECUTE format('UPDATE %I.%I t SET %I = $1 WHERE t.%3$I OPERATOR(pg_catalog.=) $2',
                   TG_TABLE_SCHEMA, TG_ARGV[0], TG_ARGV[1])
        USING NEW.id, OLD.id;
    RETURN NULL;
END
$fn$;

REVOKE ALL ON FUNCTION "nextcrm_loose_ref_check"() FROM PUBLIC;
REVOKE ALL ON FUNCTION "nextcrm_loose_ref_action"() FROM PUBLIC;
REVOKE ALL ON FUNCTION "nextcrm_loose_ref_cascade"() FROM PUBLIC;

-- Each reference: its foreign key dropped, five triggers in its place, named
-- after the constraint: <constraint>_ins and _upd on the referencing table,
-- _del, _key and _trunc on the referenced one.  (A DO block, so the list is
-- written once, and format('%I') quotes every name.)
DO $do$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM (VALUES
        ('crm_Accounts',       'createdBy',        'Users',        'SET NULL'),
        ('crm_Accounts',       'updatedBy',        'Users',        'SET NULL'),
        ('crm_Leads',          'createdBy',        'Users',        'SET NULL'),
        ('crm_Leads',          'updatedBy',        'Users',        'SET NULL'),
        ('crm_Opportunities',  'contact',          'crm_Contacts', 'SET NULL'),
        ('crm_Opportunities',  'createdBy',        'Users',        'SET NULL'),
        ('crm_Opportunities',  'updatedBy',        'Users',        'SET NULL'),
        ('crm_Opportunities',  'last_activity_by', 'Users',        'SET NULL'),
        ('crm_Contacts',       'account',          'crm_Accounts', 'SET NULL'),
        ('crm_Contacts',       'createdBy',        'Users',        'SET NULL'),
        ('crm_Contacts',       'updatedBy',        'Users',        'SET NULL'),
        ('crm_Contacts',       'last_activity_by', 'Users',        'SET NULL'),
        ('crm_Contracts',      'createdBy',        'Users',        'SET NULL'),
        ('crm_Contracts',      'updatedBy',        'Users',        'SET NULL'),
        ('Boards',             'createdBy',        'Users',        'SET NULL'),
        ('Boards',             'updatedBy',        'Users',        'SET NULL'),
        ('Invoices',           'last_updated_by',  'Users',        'SET NULL'),
        ('Documents',          'createdBy',        'Users',        'SET NULL'),
        ('Sections',           'board',            'Boards',       'RESTRICT'),
        ('Tasks',              'createdBy',        'Users',        'SET NULL'),
        ('Tasks',              'updatedBy',        'Users',        'SET NULL'),
        ('crm_Accounts_Tasks', 'createdBy',        'Users',        'SET NULL'),
        ('crm_Accounts_Tasks', 'updatedBy',        'Users',        'SET NULL')
    ) AS v(child, col, parent, on_delete) LOOP
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', r.child, r.child || '_' || r.col || '_fkey');
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I FOR EACH ROW WHEN (NEW.%I IS NOT NULL)'
                       ' EXECUTE FUNCTION "nextcrm_loose_ref_check"(%3$L, %L, %L)',
                       r.child || '_' || r.col || '_fkey_ins', r.child, r.col, r.parent,
                       r.child || '_' || r.col || '_fkey');
        -- Not UPDATE OF the column: a column-specific trigger misses a key
        -- changed by a BEFORE UPDATE trigger (the column not in the SET
        -- list), while a foreign key checks the new key whatever changed it.
        EXECUTE format('CREATE TRIGGER %1$I AFTER UPDATE ON %3$I FOR EACH ROW'
                       ' WHEN (NEW.%2$I IS NOT NULL AND NEW.%2$I IS DISTINCT FROM OLD.%2$I)'
                       ' EXECUTE FUNCTION "nextcrm_loose_ref_check"(%2$L, %4$L, %5$L)',
                       r.child || '_' || r.col || '_fkey_upd', r.col, r.child, r.parent,
                       r.child || '_' || r.col || '_fkey');
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS nextcrm_old'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION "nextcrm_loose_ref_action"(%L, %L, %L, %L)',
                       r.child || '_' || r.col || '_fkey_del', r.parent, r.child, r.col, r.on_delete,
                       r.child || '_' || r.col || '_fkey');
        -- Not UPDATE OF id: a column-specific trigger misses an id changed by
        -- a BEFORE UPDATE trigger (the id not in the SET list), while a foreign key
        -- compares the old and new key whatever changed it.
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I FOR EACH ROW'
                       ' WHEN (OLD.id IS DISTINCT FROM NEW.id)'
                       ' EXECUTE FUNCTION "nextcrm_loose_ref_cascade"(%L, %L)',
                       r.child || '_' || r.col || '_fkey_key', r.parent, r.child, r.col);
        EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %I FOR EACH STATEMENT'
                       ' EXECUTE FUNCTION "nextcrm_loose_ref_action"(%L, %L, %L, %L)',
                       r.child || '_' || r.col || '_fkey_trunc', r.parent, r.child, r.col, r.on_delete,
                       r.child || '_' || r.col || '_fkey');
    END LOOP;
END
$do$;
