#!/usr/bin/env bash
# Every wait on the MongoDB server also waits on the latch: against a server
# that accepts and never answers (and one that answers the handshake, then
# nothing), with every driver timeout at an hour, pg_cancel_backend,
# statement_timeout and pg_terminate_backend each end a foreign scan, an
# IMPORT FOREIGN SCHEMA and a migration within 2 s (the required bound,
# measured); a non-superuser's server likewise; from 17 on, transaction_timeout
# ends a scan too.  A canceled session goes on working.  The server-log crash
# check of scripts/test runs after this suite.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

work=$(mktemp -d)
chmod 755 "$work"
listener=
cleanup() {
    [[ -n "$listener" ]] && kill "$listener" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# Two loopback listeners in one process, for at most 10 minutes: "silent"
# accepts and reads, never writes; "stall" answers hello/isMaster, then never
# anything else (test/lib/wire_listener.py).
python3 "$(dirname "$0")/../lib/wire_listener.py" "$work" silent stall &
listener=$!
for m in silent stall; do
    for ((i = 0; i < 200; i++)); do [[ -s "$work/$m.port" ]] && break; sleep 0.05; done
done
silent=$(cat "$work/silent.port")
stall=$(cat "$work/stall.port")
holds "silent > 0 && stall > 0" "loopback listeners on ports $silent (silent) and $stall (stall)"

hour=3600000
timeouts="connect_timeout_ms '$hour', server_selection_timeout_ms '$hour', socket_timeout_ms '$hour'"
db=waits_test
q -c "DROP DATABASE IF EXISTS $db" >/dev/null
q -c "DROP ROLE IF EXISTS crm_waiter" >/dev/null 2>&1
q -c "CREATE ROLE crm_waiter LOGIN" >/dev/null
q -c "CREATE DATABASE $db" >/dev/null
q -d $db >/dev/null <<SQL
CREATE EXTENSION nextcrm_mongo_fdw;
CREATE SERVER silent FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri 'mongodb://127.0.0.1:$silent/', database 'crm', $timeouts);
CREATE SERVER silent_tls FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri 'mongodb://127.0.0.1:$silent/?tls=true', database 'crm', $timeouts);
CREATE SERVER stall FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri 'mongodb://127.0.0.1:$stall/', database 'crm', $timeouts);
CREATE USER MAPPING FOR CURRENT_USER SERVER silent;
CREATE USER MAPPING FOR CURRENT_USER SERVER silent_tls;
CREATE USER MAPPING FOR CURRENT_USER SERVER stall;
CREATE FOREIGN TABLE silent_users (_id text) SERVER silent OPTIONS (collection 'Users');
CREATE FOREIGN TABLE tls_users (_id text) SERVER silent_tls OPTIONS (collection 'Users');
CREATE FOREIGN TABLE stall_users (_id text) SERVER stall OPTIONS (collection 'Users');
GRANT USAGE ON FOREIGN DATA WRAPPER nextcrm_mongo_fdw TO crm_waiter;
GRANT CREATE ON SCHEMA public TO crm_waiter;
SQL
ok $? "servers over the listeners, every driver timeout an hour"

# The wait event of a backend waiting on MongoDB.
if (($(q -c "SHOW server_version_num") >= 170000)); then event=NextcrmMongoSocket; else event=Extension; fi

now() { echo "${EPOCHREALTIME/./}"; } # microseconds
# Runs SQL $3 in the background as role $4 (default postgres) with
# application_name $2; waits until a backend of it -- the session itself, or
# for a migration its worker -- waits on MongoDB; ends the session's
# statement the way $1 says (cancel, terminate; timeout is set in the SQL);
# prints the milliseconds from the signal to psql's exit, and leaves psql's
# output in $work/$2.out.
interrupt() { # how app sql [role]
    local how=$1 app=$2 sql=$3 role=${4:-postgres} pid t0 t1 killer
    # (timeout: a bound past the watch below, so that nothing is left.)
    PGAPPNAME=$app timeout 180 psql -X -At -U "$role" -d $db -c "$sql" >"$work/$app.out" 2>&1 &
    local psql_pid=$!
    # One session watches for the wait (every 10 ms, for at most 2 minutes),
    # instead of a psql start per look.  A session that never waits there
    # fails the bound: signalled once it had ended on its own or been given
    # up, it would take no time at all.
    if ! wait_in_server "EXISTS (SELECT FROM pg_stat_activity
                                  WHERE wait_event = '$event' AND (application_name = '$app'
                                     OR (backend_type = 'nextcrm migration' AND '$app' LIKE '%migrate')))" \
        >/dev/null 2>&1; then
        echo "# $app: no backend of it was seen waiting on $event" >&2
        kill "$psql_pid" 2>/dev/null
        wait "$psql_pid"
        echo 999999
        return
    fi
    pid=$(q -d $db -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$app'")
    t0=$(now)
    case $how in
    cancel) q -c "SELECT pg_cancel_backend($pid)" >/dev/null ;;
    terminate) q -c "SELECT pg_terminate_backend($pid)" >/dev/null ;;
    timeout) t0=$(now) ;; # statement_timeout fires on its own
    esac
    # A session the signal does not end would wait an hour: 10 s after the
    # signal (far past the 2 s bound) it is given up, and the bound fails.
    (sleep 10 && kill "$psql_pid") >/dev/null 2>&1 &
    killer=$!
    wait "$psql_pid"
    t1=$(now)
    kill "$killer" 2>/dev/null
    wait "$killer" 2>/dev/null
    echo $(((t1 - t0) / 1000))
}

within_2s() { # ms label
    holds "$1 < 2000" "$2 ended within 2 s (took $1 ms)"
}

# The statement_timeout case: the timeout is 1 s; from the statement's start
# the bound is 1 s + 2 s.
timed() { # app sql -> ms from start to exit
    local t0 t1
    t0=$(now)
    # 10 s is far past the bound (1 s + 2 s): then the psql is given up.
    PGAPPNAME=$1 timeout 10 psql -X -At -d $db -c "SET statement_timeout = '1s'" -c "$2" \
        >"$work/$1.out" 2>&1
    t1=$(now)
    echo $(((t1 - t0) / 1000))
}

scan='SELECT count(*) FROM silent_users'
import='CREATE SCHEMA IF NOT EXISTS imp; IMPORT FOREIGN SCHEMA crm FROM SERVER silent INTO imp'
migrate="SELECT * FROM nextcrm_migrate_all('silent')"

# Waits until no migration worker runs.
workers_gone() {
    local i
    for ((i = 0; i < 200; i++)); do
        [[ $(q -d $db -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nextcrm migration'") == 0 ]] && return 0
        sleep 0.05
    done
    return 1
}

# The statement_timeout cases of the three, side by side (each in its own
# session, each timed from its own start; three 1 s timeouts in a row
# cost 3 s).  No other migration runs meanwhile.
workers_gone
pids=()
for case in scan import migrate; do
    sql=${!case}
    timed "timeout_$case" "$sql" >"$work/timeout_$case.ms" &
    pids+=($!)
done
wait "${pids[@]}"
for case in scan import migrate; do
    ms=$(cat "$work/timeout_$case.ms")
    holds "ms < 3000" "statement_timeout (1 s) on a $case ended within 2 s of firing (took $ms ms in all)"
    like "$(cat "$work/timeout_$case.out")" "canceling statement due to statement timeout" \
        "the $case reports the statement timeout"
done

for case in scan import migrate; do
    sql=${!case}
    workers_gone
    ms=$(interrupt cancel "cancel_$case" "$sql")
    within_2s "$ms" "pg_cancel_backend on a $case waiting on a silent server"
    like "$(cat "$work/cancel_$case.out")" "canceling statement due to user request" \
        "the $case reports the cancel, not a network error"

    workers_gone
    ms=$(interrupt terminate "terminate_$case" "$sql")
    within_2s "$ms" "pg_terminate_backend on a $case waiting on a silent server"
    like "$(cat "$work/terminate_$case.out")" "terminating connection due to administrator command" \
        "the $case's session was terminated"
done

# The migration's worker stops with its caller and records the stop.
workers_gone
ok $? "no migration worker is left waiting"
is "$(q -d $db -c "SELECT status FROM nextcrm_migration.run")" stopped \
    "the interrupted migration is recorded as stopped"

# An established connection (the handshake answered, the find never): the
# wait is a read bounded only by socketTimeoutMS.
ms=$(interrupt cancel cancel_stall 'SELECT count(*) FROM stall_users')
within_2s "$ms" "pg_cancel_backend on a scan whose query the server never answers"
like "$(cat "$work/cancel_stall.out")" "canceling statement due to user request" \
    "the stalled scan reports the cancel"

# The TLS handshake with a server that never answers it.
ms=$(interrupt cancel cancel_tls 'SELECT count(*) FROM tls_users')
within_2s "$ms" "pg_cancel_backend during a TLS handshake that never completes"

# The session goes on after a cancel: the interrupted client was dropped, a
# new one connects (and waits, and is canceled again).
out=$(PGAPPNAME=again psql -X -At -d $db -v ON_ERROR_STOP=0 2>&1 <<'SQL'
SET statement_timeout = '300ms';
SELECT count(*) FROM stall_users;
SELECT count(*) FROM stall_users;
SELECT 'still here';
SQL
)
is "$(grep -c 'canceling statement due to statement timeout' <<<"$out")" 2 \
    "after a canceled scan the same session's next scan waits and is canceled again"
like "$out" "still here" "and the session still answers"

# transaction_timeout (17 and later; the setting does not exist before) ends
# a scan waiting on a silent server too: from 17 on, socket_wait.cpp counts
# TransactionTimeoutPending among the interrupts that end a wait.  Its end
# is FATAL (the session is closed), so it gets a session of its own.
if (($(q -c "SHOW server_version_num") >= 170000)); then
    t0=$(now)
    # 10 s is far past the bound (1 s + 2 s): then the psql is given up.
    out=$(PGAPPNAME=transaction_timeout timeout 10 psql -X -At -d $db -c "SET transaction_timeout = '1s'" \
        -c 'SELECT count(*) FROM silent_users' 2>&1)
    ms=$((($(now) - t0) / 1000))
    holds "ms < 3000" "transaction_timeout (1 s) on a scan of a silent server ended within 2 s of firing (took $ms ms in all)"
    like "$out" "terminating connection due to transaction timeout" "the scan's session reports the transaction timeout"
fi

# A non-superuser's own server (a password in the mapping, the longest
# timeouts it may set): the same.
q -d $db -U crm_waiter >/dev/null <<SQL
CREATE SERVER own FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri 'mongodb://127.0.0.1:$stall/', database 'crm', $timeouts);
CREATE USER MAPPING FOR crm_waiter SERVER own OPTIONS (username 'u', password 'p');
CREATE FOREIGN TABLE own_users (_id text) SERVER own OPTIONS (collection 'Users');
SQL
ok $? "a non-superuser creates a server with hour-long timeouts"
ms=$(interrupt cancel cancel_own 'SELECT count(*) FROM own_users' crm_waiter)
within_2s "$ms" "pg_cancel_backend on a non-superuser's scan"
ms=$(interrupt terminate terminate_own 'SELECT count(*) FROM own_users' crm_waiter)
within_2s "$ms" "pg_terminate_backend on a non-superuser's scan"
like "$(cat "$work/terminate_own.out")" "terminating connection due to administrator command" \
    "the non-superuser's session was terminated"

is "$(q -c "SELECT 'server up'")" "server up" "the server is up"

q -c "DROP DATABASE $db" >/dev/null
q -c "DROP ROLE crm_waiter" >/dev/null
done_testing
