// Prisma CLI configuration for this repository's tooling.  The JS schema
// engine (bundled WebAssembly, driven through @prisma/adapter-pg) is used
// because the native engines cannot be downloaded on an offline machine;
// `validate`, `migrate diff` (also --from-migrations) and `generate` work
// this way.
import { defineConfig } from "prisma/config";
import { PrismaPg } from "@prisma/adapter-pg";
import { parse } from "pg-connection-string";
import { randomUUID } from "node:crypto";

const url = process.env.DATABASE_URL ?? "postgresql://localhost/postgres";

// The connection as discrete settings: @prisma/adapter-pg 6.19 makes its
// shadow database by overriding `database`, which a `connectionString`
// would silently win over (the migrations would then run in DATABASE_URL's
// own database).
// allowExitOnIdle: the CLI does not close every pool it is given, and pg
// keeps an idle connection for 10 s (idleTimeoutMillis), which held each
// command's process open that long after its work was done.
function settings(database?: string) {
  const cfg = { ...(parse(url) as Record<string, unknown>), allowExitOnIdle: true };
  return database === undefined ? cfg : { ...cfg, database };
}

// The schema engine reads the catalogs, whose `name` and `"char"` columns
// @prisma/adapter-pg 6.19 refuses as unsupported types
// (https://github.com/prisma/prisma/issues/27403); pg already returns both
// as strings, so they are declared text.
const PG_CHAR = 18, PG_NAME = 19, PG_TEXT = 25;
function textCatalogNames<T>(adapter: T): T {
  const a = adapter as any;
  const performIO = a.performIO.bind(a);
  a.performIO = async (query: unknown) => {
    const result = await performIO(query);
    // A script of several statements gives an array of results.
    for (const one of Array.isArray(result) ? result : [result]) {
      for (const field of one?.fields ?? [])
        if (field.dataTypeID === PG_NAME || field.dataTypeID === PG_CHAR) field.dataTypeID = PG_TEXT;
      dropNotNullConstraints(one);
    }
    return result;
  };
  return adapter;
}

// PostgreSQL 18 lists each NOT NULL as a pg_constraint row (contype 'n').
// The schema engine of Prisma 6.19 takes every contype but p, u and f from
// its constraints query and panics on 'n' ("RuntimeError: unreachable" from
// the WebAssembly engine; https://github.com/prisma/orm/issues/29635).  It
// reads nullability from pg_attribute.attnotnull, so those rows carry nothing
// it needs and are left out of that query's result; on 15-17 there are none.
function dropNotNullConstraints(one: any) {
  const at = (one?.fields ?? []).findIndex((f: any) => f.name === "constraint_type");
  if (at < 0 || !Array.isArray(one.rows)) return;
  one.rows = one.rows.filter((row: unknown[]) => row[at] !== "n");
  one.rowCount = one.rows.length;
}

// `migrate deploy` hands each migration to executeScript(), which
// @prisma/adapter-pg 6.19 splits at every ";", inside comments and
// dollar-quoted function bodies too (a hand-written migration with a
// semicolon in a comment or a PL/pgSQL function fails: "unterminated
// dollar-quoted string").  The script goes
// to the server whole instead, as one simple-protocol query, as Prisma's
// native engine sends it (PostgreSQL runs its statements in order, in one
// implicit transaction).
function wholeScripts<T>(adapter: T): T {
  const a = adapter as any;
  a.executeScript = async (script: string) => {
    try {
      await a.client.query(script);
    } catch (error) {
      a.onError(error);
    }
  };
  return adapter;
}

// `migrate diff --from-migrations` replays the migrations in a shadow
// database.  The adapter's own connectToShadowDb() drops that database while
// its pool still holds a connection, so the drop fails; this one closes the
// pool first and drops the database only then.
function adapterFactory() {
  const main = new PrismaPg(settings() as any);
  return {
    provider: main.provider,
    adapterName: main.adapterName,
    connect: async () => wholeScripts(textCatalogNames(await main.connect())),
    async connectToShadowDb() {
      const admin = await main.connect();
      const name = `prisma_migrate_shadow_db_${randomUUID()}`;
      await admin.executeScript(`CREATE DATABASE "${name}"`);
      const shadow = wholeScripts(textCatalogNames(await new PrismaPg(settings(name) as any).connect()));
      const close = shadow.dispose.bind(shadow);
      shadow.dispose = async () => {
        try {
          await close();
          await admin.executeScript(`DROP DATABASE IF EXISTS "${name}"`);
        } finally {
          await admin.dispose();
        }
      };
      return shadow;
    },
  };
}

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: "schema.prisma",
  migrations: { path: "migrations" },
  async adapter() {
    return adapterFactory() as any;
  },
});
