# The throwaway test rig: a PostgreSQL cluster and a FerretDB server on
# loopback, in a fresh temporary directory, on ports chosen at run time.
# Sourced by scripts/demo and scripts/test after lib/common.sh.
#
#   rig_start        start both servers and write $RIG_DIR/env.sh
#   rig_stop         stop what rig_start started, by pid (installed as a trap)
#   rig_check_log    fail when the PostgreSQL log shows a crashed backend

RIG_DIR=
RIG_FERRETDB_PID=

# A free TCP port on 127.0.0.1: nothing answers there now.
free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
}

wait_for_port() { # port seconds what
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    die "$3 did not start listening on port $1"
}

as_postgres() { runuser -u postgres -- "$@"; }

rig_start() {
    # Checked: an empty RIG_DIR would put the rig's folders at /.
    local dir
    dir=$(mktemp -d "${TMPDIR:-/tmp}/nextcrm-rig.XXXXXX") && [[ "$dir" == /?* && -d "$dir" ]] ||
        die "could not create the rig's directory under ${TMPDIR:-/tmp}"
    RIG_DIR=$dir
    trap rig_stop EXIT
    trap 'exit 130' INT TERM
    chmod 755 "$RIG_DIR" &&
        mkdir "$RIG_DIR/pg" "$RIG_DIR/sock" "$RIG_DIR/ferretdb" &&
        chown postgres: "$RIG_DIR/pg" "$RIG_DIR/sock" ||
        die "could not prepare the rig's directory $RIG_DIR"
    # Clients (psql, pg_dump, pg_prove's psql) of the server's own version.
    export PATH="$PG_BIN:$PATH"

    PGPORT=$(free_port)
    log "starting PostgreSQL on 127.0.0.1:$PGPORT (rig: $RIG_DIR)"
    as_postgres "$PG_BIN/initdb" -D "$RIG_DIR/pg/data" -U postgres --auth=trust \
        -E UTF8 --locale=C.UTF-8 >"$RIG_DIR/initdb.log" 2>&1 ||
        die "initdb failed: $(tail -5 "$RIG_DIR/initdb.log")"
    as_postgres "$PG_BIN/pg_ctl" -D "$RIG_DIR/pg/data" -l "$RIG_DIR/pg/server.log" -w -t 60 \
        -o "-p $PGPORT -k $RIG_DIR/sock -c listen_addresses=127.0.0.1 -c fsync=${RIG_FSYNC:-off} \
            -c log_line_prefix='%m [%p] ' -c shared_preload_libraries=''" start >/dev/null ||
        die "PostgreSQL did not start: $(tail -5 "$RIG_DIR/pg/server.log")"
    PG_LOG=$RIG_DIR/pg/server.log

    MONGO_PORT=$(free_port)
    log "starting FerretDB v$FERRETDB_VERSION on 127.0.0.1:$MONGO_PORT"
    DO_NOT_TRACK=1 "$FERRETDB_BIN" --handler=sqlite --sqlite-url="file:$RIG_DIR/ferretdb/" \
        --listen-addr="127.0.0.1:$MONGO_PORT" --debug-addr=- --state-dir=- \
        --telemetry=disable --log-level=warn >"$RIG_DIR/ferretdb.log" 2>&1 &
    RIG_FERRETDB_PID=$!
    wait_for_port "$MONGO_PORT" 30 FerretDB

    export PGHOST=$RIG_DIR/sock PGPORT PGUSER=postgres PGDATABASE=postgres
    export MONGO_URI="mongodb://127.0.0.1:$MONGO_PORT/" MONGO_PORT PG_LOG RIG_DIR
    export RIG_FERRETDB_PID NEXTCRM_ROOT=$ROOT BUILD_DIR
    {
        for v in PGHOST PGPORT PGUSER PGDATABASE MONGO_URI MONGO_PORT PG_LOG RIG_DIR \
            RIG_FERRETDB_PID NEXTCRM_ROOT BUILD_DIR; do
            printf 'export %s=%q\n' "$v" "${!v}"
        done
    } >"$RIG_DIR/env.sh"
}

rig_stop() {
    local status=$?
    trap - EXIT
    if [[ -n "$RIG_FERRETDB_PID" ]]; then
        kill "$RIG_FERRETDB_PID" 2>/dev/null && wait "$RIG_FERRETDB_PID" 2>/dev/null
        RIG_FERRETDB_PID=
    fi
    if [[ -n "$RIG_DIR" && -f "$RIG_DIR/pg/data/postmaster.pid" ]]; then
        as_postgres "$PG_BIN/pg_ctl" -D "$RIG_DIR/pg/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    if [[ -n "$RIG_DIR" ]]; then
        if [[ -n "${KEEP_RIG:-}" ]]; then
            log "rig kept in $RIG_DIR"
        else
            rm -rf "$RIG_DIR"
        fi
    fi
    return $status
}

# Prints the lines of the server log that show a crashed or killed backend,
# except processes a test killed on purpose and listed, one pid a line, in
# $RIG_DIR/expected_kills.  A child that exits with a code other than 0 or 1
# (exit(2), _exit() from a library) makes the postmaster restart every
# process as after a signal, so its "exited with exit code N" line counts
# too; code 1 is an ordinary FATAL or a background worker's ERROR.
rig_crash_lines() {
    local lines
    lines=$(grep -E 'terminated by signal|server process .* was terminated|PANIC:|was terminated by exception|\(PID [0-9]+\) exited with exit code ([2-9]|[1-9][0-9]+)$' \
        "$PG_LOG") || return 0
    if [[ -s "$RIG_DIR/expected_kills" ]]; then
        local pid
        while read -r pid; do
            lines=$(grep -v "(PID $pid) was terminated by signal 9" <<<"$lines")
        done <"$RIG_DIR/expected_kills"
    fi
    [[ -n "$lines" ]] && printf '%s\n' "$lines"
    return 0
}

# Loads NextCRM's seed records into database $1 of the FerretDB server.
rig_load_seed() {
    local db=$1 dir=$ROOT/test/fixtures/nextcrm-seed
    "$BUILD_DIR/nextcrm_load" "$MONGO_URI" "$db" \
        crm_Industry_Type="$dir/crm_Industry_Type.json" \
        crm_Opportunities_Sales_Stages="$dir/crm_Opportunities_Sales_Stages.json" \
        crm_Opportunities_Type="$dir/crm_Opportunities_Type.json" \
        crm_campaigns="$dir/crm_campaigns.json" \
        gpt_models="$dir/gpt_Models.json" \
        system_Modules_Enabled="$dir/system_Modules_Enabled.json" >/dev/null
}

# Loads N generated NextCRM documents (nextcrm_gen: all 29 collections, with
# the quirks of SOURCE-SCHEMA 8-9) into database $1 of the FerretDB server;
# the manifest goes to $RIG_DIR/sample-manifest.json.
rig_load_sample() {
    local db=$1 docs=${2:-5000}
    "$BUILD_DIR/nextcrm_gen" --docs "$docs" --seed "${NEXTCRM_GEN_SEED:-1}" --uri "$MONGO_URI" \
        --database "$db" --manifest "$RIG_DIR/sample-manifest.json"
}
