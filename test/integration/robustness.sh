#!/usr/bin/env bash
# Robustness of scans: statement_timeout and cancel stop a long scan within
# seconds (the bound is loose so that a loaded machine cannot fail it; it
# catches a scan that runs on or hangs), a server that stops answering mid-scan is an ERROR (never a
# short result), and failing queries release their driver objects (backend
# RSS stays flat over 800 of them).  The 40000 documents are there to make a
# scan long enough to interrupt; a full scan of them costs seconds, so one
# is read whole, at the end (after every interruption and failure).
. "$(dirname "$0")/../lib/tap.sh"

mdb=robust_$$
"$BUILD_DIR/nextcrm_bench" load "$MONGO_URI" "$mdb" big 40000 2>/dev/null
ok $? "40000 documents loaded into FerretDB"
# The failing queries' collection: more than their batch of 100, so that the
# server-side cursor is still open when they fail; small, so that each of
# 350 queries costs FerretDB a fraction of what one on "big" does.
"$BUILD_DIR/nextcrm_bench" load "$MONGO_URI" "$mdb" small 300 2>/dev/null
ok $? "300 documents loaded into FerretDB"
dumps=$RIG_DIR/robust_dump_$$
mkdir -p "$dumps" && "$BUILD_DIR/nextcrm_fixture" "$dumps" && chmod -R a+rX "$dumps"
ok $? "dump fixtures written"

db=robust_test_$$
q -c "CREATE DATABASE $db" >/dev/null
q -d "$db" <<SQL >/dev/null
CREATE EXTENSION nextcrm_mongo_fdw;
CREATE SERVER ferret FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri '$MONGO_URI', database '$mdb', socket_timeout_ms '5000');
CREATE USER MAPPING FOR CURRENT_USER SERVER ferret;
CREATE FOREIGN TABLE big (_id text, name text, amount int4, tags text[]) SERVER ferret;
-- The stopped server's scan: the same collection, a shorter socket timeout
-- (what the test waits for).
CREATE SERVER ferret_stop FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri '$MONGO_URI', database '$mdb', socket_timeout_ms '2000');
CREATE USER MAPPING FOR CURRENT_USER SERVER ferret_stop;
CREATE FOREIGN TABLE big_stop (_id text, name text, amount int4, tags text[]) SERVER ferret_stop
  OPTIONS (collection 'big');
-- name is a string: every document fails to convert, after a batch of 100
-- (of 300) arrived and with the server-side cursor still open.
CREATE FOREIGN TABLE big_bad (_id text, name int4) SERVER ferret
  OPTIONS (collection 'small', batch_size '100');
CREATE SERVER dump FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (dump_dir '$dumps');
CREATE FOREIGN TABLE nul_string (s jsonb) SERVER dump;  -- fails inside jsonb's input
CREATE FOREIGN TABLE bad_utf8 (s text) SERVER dump;     -- fails in the C++ conversion
CREATE FOREIGN TABLE huge_bad (s int4) SERVER dump OPTIONS (collection 'big'); -- a 16 MB document
SQL
ok $? "tables created"

now_ms() { date +%s%3N; }

# statement_timeout.
start=$(now_ms)
out=$(q -d "$db" -c "SET statement_timeout = '700ms'; SELECT count(*) FROM big" 2>&1)
status=$?
elapsed=$(($(now_ms) - start))
fails $status "statement_timeout stops the scan with an error"
# The scan sends maxTimeMS with what is left of statement_timeout, so on a
# loaded machine the server's own limit may be the one that fires first.
like "$out" "canceling statement due to statement timeout|time limit|MaxTimeMS" \
    "the error is the statement timeout (or the server-side limit derived from it)"
holds "elapsed < 10000" "the scan stopped within seconds of the timeout (${elapsed} ms for 700 ms)"

# Cancel (what Ctrl+C sends), from another session.
PGAPPNAME=cancel_me_$$ q -d "$db" -c "SELECT count(*) FROM big" >"$RIG_DIR/cancel.$$" 2>&1 &
bg=$!
for _ in $(seq 50); do
    [[ $(q -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'cancel_me_$$'
               AND state = 'active'") == 1 ]] && break
    sleep 0.1
done
sleep 0.5
start=$(now_ms)
q -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'cancel_me_$$'" >/dev/null
wait $bg
status=$?
elapsed=$(($(now_ms) - start))
fails $status "a cancelled scan fails"
like "$(cat "$RIG_DIR/cancel.$$")" "canceling statement due to user request" "the error is the cancel"
holds "elapsed < 10000" "the scan stopped within seconds of the cancel (${elapsed} ms)"

# FerretDB stops answering mid-scan: an error after the socket timeout, not a
# short count.
q -d "$db" -c "SELECT count(*) FROM big_stop" >"$RIG_DIR/stop.$$" 2>&1 &
bg=$!
sleep 1
kill -STOP "$RIG_FERRETDB_PID"
wait $bg
status=$?
kill -CONT "$RIG_FERRETDB_PID"
fails $status "a server that stops mid-scan fails the query"
like "$(cat "$RIG_DIR/stop.$$")" "ERROR:.*(MongoDB query on collection \"big\" failed after [0-9]+ documents|timeout|socket)" \
    "the error names the failed query: $(head -1 "$RIG_DIR/stop.$$")"
# The next queries (the failing ones below, then a full scan) read again.

# 800 failing queries in one session (each holding a cursor with a batch, or
# a 16 MB document, when it fails): RSS stays flat.  The 16 MB document is
# read in one query of five: a leak of it would grow RSS by 16 MB a query,
# and 50 of them stay far past the bound below.
script=$RIG_DIR/failing.$$.sql
{
    echo "\\set ON_ERROR_STOP 0"
    for i in $(seq 100); do
        echo "SELECT * FROM big_bad;"
        echo "SELECT * FROM nul_string;"
        echo "SELECT * FROM bad_utf8;"
        ((i % 5)) || echo "SELECT * FROM huge_bad;"
    done
    echo "SELECT 'VmRSS ' || substring(pg_read_file('/proc/self/status') FROM 'VmRSS:\\s+(\\d+)');"
    for i in $(seq 250); do
        echo "SELECT * FROM big_bad;"
        echo "SELECT * FROM nul_string;"
        echo "SELECT * FROM bad_utf8;"
        ((i % 5)) || echo "SELECT * FROM huge_bad;"
    done
    echo "SELECT 'VmRSS ' || substring(pg_read_file('/proc/self/status') FROM 'VmRSS:\\s+(\\d+)');"
    echo "SELECT count(*) AS still_works FROM big;"
} >"$script"
psql -X -q -At -d "$db" -f "$script" >"$RIG_DIR/failing.$$.out" 2>"$RIG_DIR/failing.$$.err"
errors=$(grep -c "ERROR" "$RIG_DIR/failing.$$.err")
is "$errors" "1120" "1120 queries failed (320 warm-up, then 800)"
is "$(grep -c 'cannot convert field "name" of document _id' "$RIG_DIR/failing.$$.err")" "350" \
    "each FerretDB query failed on its first document (the server answers again after the stop)"
is "$(grep -c 'BSON string to column "s" of type integer' "$RIG_DIR/failing.$$.err")" "70" \
    "each 16 MB dump query failed on its document"
mapfile -t rss < <(grep '^VmRSS ' "$RIG_DIR/failing.$$.out" | awk '{print $2}')
growth=$((rss[1] - rss[0]))
holds "growth <= 1024" "backend RSS flat over 800 failing queries: ${rss[0]} kB -> ${rss[1]} kB (+${growth} kB)"
is "$(tail -1 "$RIG_DIR/failing.$$.out")" "40000" \
    "a full scan returns every document: after the stop, and in the session of the failures"

q -c "DROP DATABASE $db" >/dev/null
rm -rf "$dumps" "$RIG_DIR"/{cancel,stop,failing}.$$*
done_testing
