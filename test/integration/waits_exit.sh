#!/usr/bin/env bash
# A backend's exit waits on MongoDB for at most 1 s in all, not per wait:
# at exit libmongoc ends its sessions (endSessions), and a server that sends
# the reply a byte at a time ends each wait at once.  pg_terminate_backend
# on an idle session whose client used such a server must still end the
# process within 2 s (the required bound), and the next session works.
. "$(dirname "$0")/../lib/tap.sh"

work=$(mktemp -d)
chmod 755 "$work"
listener=
cleanup() {
    [[ -n "$listener" ]] && kill "$listener" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# A loopback listener for at most 10 minutes: it answers the handshake (with
# sessions, so the driver ends them at exit) and a find at once, and sends
# every other reply (endSessions) one byte each 0.5 s
# (test/lib/wire_listener.py, mode drip).
python3 "$(dirname "$0")/../lib/wire_listener.py" "$work" drip &
listener=$!
for ((i = 0; i < 200; i++)); do [[ -s "$work/drip.port" ]] && break; sleep 0.05; done
port=$(cat "$work/drip.port")
holds "port > 0" "a loopback listener that drips its replies, on port $port"

hour=3600000
db=waits_exit
q -c "DROP DATABASE IF EXISTS $db" >/dev/null
q -c "CREATE DATABASE $db" >/dev/null
q -d $db >/dev/null <<SQL
CREATE EXTENSION nextcrm_mongo_fdw;
CREATE SERVER drip FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri 'mongodb://127.0.0.1:$port/', database 'crm', connect_timeout_ms '$hour',
           server_selection_timeout_ms '$hour', socket_timeout_ms '$hour');
CREATE USER MAPPING FOR CURRENT_USER SERVER drip;
CREATE FOREIGN TABLE drip_users (_id text) SERVER drip OPTIONS (collection 'Users');
SQL
ok $? "a server over the listener, every driver timeout an hour"

now() { echo "${EPOCHREALTIME/./}"; } # microseconds

# A session scans (the find is answered), then idles; it is terminated, and
# its exit ends the driver's sessions.  psql holds the session open on a
# coprocess until the pid is known.
coproc SESSION { psql -X -At -d $db; }
echo "SELECT pg_backend_pid(); SELECT count(*) FROM drip_users;" >&"${SESSION[1]}"
read -r -t 60 pid <&"${SESSION[0]}"
read -r -t 60 count <&"${SESSION[0]}"
is "$count" 1 "the scan reads the listener's one document"
t0=$(now)
q -c "SELECT pg_terminate_backend($pid)" >/dev/null
# Given up after 30 s (far past the bound): the bound then fails.
for ((i = 0; i < 600; i++)); do
    [[ -d /proc/$pid ]] || break
    sleep 0.05
done
t1=$(now)
ms=$(((t1 - t0) / 1000))
holds "ms < 2000" "the terminated backend exited within 2 s (took $ms ms)"
like "$(cat "$work/drip.log" 2>/dev/null)" "endsessions" "its exit did send endSessions"
exec {SESSION[1]}>&-
wait "$SESSION_PID" 2>/dev/null

is "$(q -d $db -c "SELECT count(*) FROM drip_users")" 1 "the next session scans the same server"

q -c "DROP DATABASE $db WITH (FORCE)" >/dev/null
done_testing
