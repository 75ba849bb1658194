#!/usr/bin/env bash
# Prisma's own drift check, offline: `prisma migrate diff --from-migrations
# prisma/migrations --to-schema-datamodel schema.prisma` replays the
# migrations in a shadow database on the rig's server (through the JS schema
# engine and @prisma/adapter-pg, prisma/prisma.config.ts) and compares the
# result with the data model.  It must find nothing; it must find a planted
# change; and it finds foreign keys that the data model does not declare,
# which is why the former loose references stay Prisma relations
# (profiles/nextcrm/README.md, "Loose references").
. "$(dirname "$0")/../lib/tap.sh"
. "$NEXTCRM_ROOT/scripts/lib/prisma.sh"
. "$NEXTCRM_ROOT/test/lib/schema.sh"

db=schema_drift_$$
q -c "CREATE DATABASE $db" >/dev/null
ok $? "database $db created (DATABASE_URL; the shadow databases are made beside it)"
export DATABASE_URL
DATABASE_URL=$(schema_db_url "$db")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

diff_to() { # migrations-dir datamodel → prints the script, returns prisma's --exit-code status
    prisma_cli migrate diff --from-migrations "$1" --to-schema-datamodel "$2" --script \
        --exit-code 2>&1
}

out=$(diff_to migrations schema.prisma)
is "$?" 0 "prisma migrate diff --from-migrations prisma/migrations --to-schema-datamodel: no difference"
printf '%s\n' "$out" | grep -v '^Loaded Prisma config' | grep . | head -5 | sed 's/^/# /'
like "$out" "-- This is an empty migration." "the diff script is the empty migration"

is "$(q -c "SELECT count(*) FROM pg_database WHERE datname LIKE 'prisma_migrate_shadow_db_%'")" 0 \
    "the shadow database is dropped afterwards"
is "$(q -d "$db" -c "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace")" 0 \
    "the migrations ran in the shadow database, not in DATABASE_URL's database"

# A planted difference is found, so an empty diff means something; and the
# evidence for keeping the loose references as relations: with the relations
# removed from the data model, Prisma reads each of their foreign keys as
# drift and its diff would drop them.  One diff (each Prisma start costs
# seconds) from migrations with a planted one to the data model without the
# relations: each difference is its own statement of the script, so each is
# looked for on its own and none can stand in for another.
# The planted migration adds a column and drops a NOT NULL; nullability is
# planted because PostgreSQL 18 also lists each NOT NULL as a constraint,
# which prisma/prisma.config.ts leaves out of the schema engine's constraints
# query (the engine reads nullability from pg_attribute).
cp -r "$MIGRATIONS_DIR" "$tmp/planted"
mkdir "$tmp/planted/29990101000000_planted"
cat >"$tmp/planted/29990101000000_planted/migration.sql" <<'SQL'
ALTER TABLE "Users" ADD COLUMN "planted" text;
ALTER TABLE "Users" ALTER COLUMN "email" DROP NOT NULL;
SQL
python3 "$NEXTCRM_ROOT/test/prisma/unmodel-loose-refs.py" "$PRISMA_DIR/schema.prisma" \
    >"$tmp/unmodelled.prisma" 2>/dev/null
out=$(diff_to "$tmp/planted" "$tmp/unmodelled.prisma")
is "$?" 2 "planted migrations against the data model without the loose relations: a difference (exit 2)"
printf '%s\n' "$out" | grep -v '^Loaded Prisma config\|DropForeignKey\|DROP CONSTRAINT' | grep . | sed 's/^/# /'
planted='^ALTER TABLE "Users" DROP COLUMN "planted",$'
not_null='^ALTER COLUMN "email" SET NOT NULL;$'
is "$(grep -c "$planted" <<<"$out")" 1 "the diff drops the planted column"
is "$(grep -c "$not_null" <<<"$out")" 1 "the diff sets the dropped NOT NULL again"
is "$(grep -c '^-- DropForeignKey$' <<<"$out")" 23 \
    "loose references as plain scalars with their foreign keys kept: the diff drops all 23 keys"
is "$(grep -c '^ALTER TABLE .* DROP CONSTRAINT "[A-Za-z_]*_\(createdBy\|updatedBy\|last_activity_by\|last_updated_by\|board\|contact\|account\)_fkey";$' <<<"$out")" 23 \
    "each one a loose reference's foreign key (createdBy, updatedBy, board, …)"
is "$(grep -v "$planted" <<<"$out" | grep -v "$not_null" |
    grep -cv '^\(-- \|ALTER TABLE .* DROP CONSTRAINT\|Loaded Prisma\|$\)')" 0 \
    "and nothing else"

q -c "DROP DATABASE $db" >/dev/null
ok $? "database $db dropped"
done_testing
