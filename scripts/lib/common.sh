# Shared settings and helpers for the scripts; sourced, not run.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# PG_CONFIG selects the PostgreSQL installation the extension is built for and
# the rig runs (a relocated copy keeps parallel work trees apart).
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PG_BIN=$("$PG_CONFIG" --bindir)
FERRETDB_VERSION=1.24.2
FERRETDB_BIN=${FERRETDB_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/nextcrm_mongo_fdw/ferretdb-$FERRETDB_VERSION/ferretdb}
BUILD_DIR=${BUILD_DIR:-$ROOT/build}

log() { printf '==> %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}
