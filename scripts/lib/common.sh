# Shared settings and helpers for the scripts; sourced, not run.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# PostgreSQL 16-18 trees that scripts/install-deps unpacks (Debian 12 has
# only 15), one folder per major version; readable by the postgres user.
PG_TREES=${NEXTCRM_PG_TREES:-/opt/nextcrm_mongo_fdw}
# What scripts/test runs when PG_CONFIG is not set: two lanes side by side,
# each one item after another: a PostgreSQL major version (its own rig), or
# "sanitize" (the unit tests built with the sanitizers, no rig).  The
# requirements' target (16) runs everything, so it is alone with the
# shortest version run; the other lane balances it.
PG_LANES=("16 17" "sanitize 15 18")
pg_tree_dir() { echo "$PG_TREES/pg$1"; }
# The pg_config of major version $1; NEXTCRM_PG_CONFIG_<major> overrides it
# (e.g. an engineer's relocated copy of 15).
pg_config_for() {
    local override=NEXTCRM_PG_CONFIG_$1
    if [[ -n "${!override:-}" ]]; then
        echo "${!override}"
    elif [[ $1 == 15 ]]; then
        echo /usr/lib/postgresql/15/bin/pg_config
    else
        echo "$(pg_tree_dir "$1")/bin/pg_config"
    fi
}
# NextCRM v0.21.2's release files (its prisma/ folder), which the v0.21.2
# profile's tests use as the app checkout: ../shared/fixtures beside the
# repository unless NEXTCRM_APP_V0212 names them.  Resolved here, before a
# second lane copies the tree elsewhere.
if [[ -z "${NEXTCRM_APP_V0212:-}" ]]; then
    NEXTCRM_APP_V0212=$(cd "$ROOT/.." && pwd)/shared/fixtures/nextcrm-app-v0.21.2
fi
export NEXTCRM_APP_V0212
# PG_CONFIG selects the PostgreSQL installation the extension is built for and
# the rig runs (a relocated copy keeps parallel work trees apart).
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PG_BIN=$("$PG_CONFIG" --bindir 2>/dev/null)
# Selects the installation whose pg_config is $1 (after install-deps).
pg_use() {
    export PG_CONFIG=$1
    PG_BIN=$("$PG_CONFIG" --bindir) || die "$PG_CONFIG does not run"
}
FERRETDB_VERSION=1.24.2
FERRETDB_BIN=${FERRETDB_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/nextcrm_mongo_fdw/ferretdb-$FERRETDB_VERSION/ferretdb}
BUILD_DIR=${BUILD_DIR:-$ROOT/build}

log() { printf '==> %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}
