// Prisma CLI configuration for this repository's tooling.  The JS schema
// engine (bundled WebAssembly, driven through @prisma/adapter-pg) is used
// because the native engines cannot be downloaded on an offline machine;
// `validate`, `migrate diff` and `generate` work this way.
import { defineConfig } from "prisma/config";
import { PrismaPg } from "@prisma/adapter-pg";

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: "schema.prisma",
  migrations: { path: "migrations" },
  async adapter() {
    return new PrismaPg({
      connectionString: process.env.DATABASE_URL ?? "postgresql://localhost/postgres",
    });
  },
});
