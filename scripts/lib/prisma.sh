# Runs the Prisma CLI from prisma/ offline; sourced after lib/common.sh (or
# with NEXTCRM_ROOT set).
#
#   prisma_cli ARGS...   npx prisma ARGS... in prisma/, offline
#
# Prisma downloads native engines unless these variables name a file; any
# existing file will do because the JS engine and the Client's "client"
# engine type never load them.
PRISMA_DIR=${NEXTCRM_ROOT:-$ROOT}/prisma
export PRISMA_SCHEMA_ENGINE_BINARY=${PRISMA_SCHEMA_ENGINE_BINARY:-$PRISMA_DIR/package.json}
export PRISMA_QUERY_ENGINE_LIBRARY=${PRISMA_QUERY_ENGINE_LIBRARY:-$PRISMA_DIR/package.json}
export PRISMA_HIDE_UPDATE_MESSAGE=1 CHECKPOINT_DISABLE=1

prisma_cli() {
    (cd "$PRISMA_DIR" && ./node_modules/.bin/prisma "$@")
}
