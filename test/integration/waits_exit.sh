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
# every other reply (endSessions) one byte each 0.5 s.
python3 - "$work" <<'PY' &
import socket, struct, sys, threading, time

work = sys.argv[1]

def cstring(s):
    return s.encode() + b"\0"

def bson(items):
    body = b""
    for k, v in items:
        if isinstance(v, bool):
            body += b"\x08" + cstring(k) + (b"\x01" if v else b"\x00")
        elif isinstance(v, int) and k == "id":
            body += b"\x12" + cstring(k) + struct.pack("<q", v)
        elif isinstance(v, int):
            body += b"\x10" + cstring(k) + struct.pack("<i", v)
        elif isinstance(v, float):
            body += b"\x01" + cstring(k) + struct.pack("<d", v)
        elif isinstance(v, str):
            e = v.encode()
            body += b"\x02" + cstring(k) + struct.pack("<i", len(e) + 1) + e + b"\0"
        elif isinstance(v, list):
            body += b"\x04" + cstring(k) + bson([(str(i), x) for i, x in enumerate(v)])
        elif isinstance(v, dict):
            body += b"\x03" + cstring(k) + bson(list(v.items()))
        elif isinstance(v, tuple):  # ("date", ms)
            body += b"\x09" + cstring(k) + struct.pack("<q", v[1])
    return struct.pack("<i", len(body) + 5) + body + b"\0"

def hello():
    return bson([("ismaster", True), ("helloOk", True), ("maxBsonObjectSize", 16777216),
                 ("maxMessageSizeBytes", 48000000), ("maxWriteBatchSize", 100000),
                 ("logicalSessionTimeoutMinutes", 30),
                 ("localTime", ("date", int(time.time() * 1000))), ("minWireVersion", 0),
                 ("maxWireVersion", 13), ("ok", 1.0)])

def recv_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data

def op_msg(request_id, doc):
    reply = struct.pack("<I", 0) + b"\0" + doc
    return struct.pack("<iiii", 16 + len(reply), 1, request_id, 2013) + reply

def serve(conn):
    try:
        while True:
            length, request_id, _, opcode = struct.unpack("<iiii", recv_exact(conn, 16))
            body = recv_exact(conn, length - 16)
            if opcode == 2004:  # OP_QUERY: the driver's handshake
                reply = struct.pack("<iqii", 0, 0, 0, 1) + hello()
                conn.sendall(struct.pack("<iiii", 16 + len(reply), 1, request_id, 1) + reply)
                continue
            doc = body[5:]
            key = doc[5:doc.index(b"\0", 5)].decode().lower()
            if key in ("hello", "ismaster"):
                conn.sendall(op_msg(request_id, hello()))
            elif key == "find":
                batch = {"firstBatch": [{"_id": "a"}], "id": 0, "ns": "crm.Users"}
                conn.sendall(op_msg(request_id, bson([("cursor", batch), ("ok", 1.0)])))
            else:
                with open(f"{work}/drip.log", "a") as f:
                    f.write(key + "\n")
                for b in op_msg(request_id, bson([("ok", 1.0)])) * 20:
                    conn.sendall(bytes([b]))
                    time.sleep(0.5)
    except (EOFError, OSError):
        pass

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
with open(f"{work}/port.tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
import os
os.rename(f"{work}/port.tmp", f"{work}/port")
def accept():
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()
threading.Thread(target=accept, daemon=True).start()
time.sleep(600)
PY
listener=$!
for ((i = 0; i < 200; i++)); do [[ -s "$work/port" ]] && break; sleep 0.05; done
port=$(cat "$work/port")
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
