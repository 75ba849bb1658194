#!/usr/bin/env python3
"""Loopback listeners that speak just enough of MongoDB's wire protocol to
hold a driver waiting, for test/integration/waits.sh and waits_exit.sh.

Usage: wire_listener.py WORK_DIR MODE...

Each MODE gets its own port on 127.0.0.1, written to WORK_DIR/MODE.port
(renamed into place, so a reader never sees half a number); the process
lives at most 10 minutes.  The modes:

  silent  accepts and reads, never writes; logs "accepted" per connection
          to WORK_DIR/silent.log
  stall   answers hello/isMaster as a standalone MongoDB 5.0 without
          sessions would, then never answers anything else (the driver's
          wait is a read on an established connection: socketTimeoutMS);
          logs "accepted" per connection to WORK_DIR/stall.log
  drip    answers the handshake (with sessions, so the driver ends them at
          exit) and a find (one document, _id "a") at once, and sends every
          other reply one byte each 0.5 s, logging its command name to
          WORK_DIR/drip.log
"""
import os
import socket
import struct
import sys
import threading
import time

OP_REPLY, OP_QUERY, OP_MSG = 1, 2004, 2013


def cstring(s):
    return s.encode() + b"\0"


def bson(items):
    body = b""
    for k, v in items:
        if isinstance(v, bool):
            body += b"\x08" + cstring(k) + (b"\x01" if v else b"\x00")
        elif isinstance(v, int) and k == "id":  # a cursor id is an int64
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


def hello(sessions):
    items = [("ismaster", True), ("helloOk", True), ("maxBsonObjectSize", 16777216),
             ("maxMessageSizeBytes", 48000000), ("maxWriteBatchSize", 100000)]
    if sessions:
        items.append(("logicalSessionTimeoutMinutes", 30))
    items += [("localTime", ("date", int(time.time() * 1000))), ("minWireVersion", 0),
              ("maxWireVersion", 13), ("ok", 1.0)]
    return bson(items)


def recv_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def op_reply(request_id, doc):
    reply = struct.pack("<iqii", 0, 0, 0, 1) + doc
    return struct.pack("<iiii", 16 + len(reply), 1, request_id, OP_REPLY) + reply


def op_msg(request_id, doc):
    reply = struct.pack("<I", 0) + b"\0" + doc
    return struct.pack("<iiii", 16 + len(reply), 1, request_id, OP_MSG) + reply


def command(body):
    # An OP_MSG body: flag bits, section kind 0, then the command document,
    # whose first key (after its int32 length and type byte) names it.
    doc = body[5:]
    return doc[5:doc.index(b"\0", 5)].decode().lower()


def log(work, mode, line):
    with open(f"{work}/{mode}.log", "a") as f:
        f.write(line + "\n")


def serve(conn, work, mode):
    try:
        while True:
            length, request_id, _, opcode = struct.unpack("<iiii", recv_exact(conn, 16))
            body = recv_exact(conn, length - 16)
            if mode == "silent":
                continue
            sessions = mode == "drip"
            if opcode == OP_QUERY:  # the driver's handshake
                conn.sendall(op_reply(request_id, hello(sessions)))
                continue
            if opcode != OP_MSG:
                continue
            name = command(body)
            if name in ("hello", "ismaster"):
                conn.sendall(op_msg(request_id, hello(sessions)))
            elif mode == "drip" and name == "find":
                batch = {"firstBatch": [{"_id": "a"}], "id": 0, "ns": "crm.Users"}
                conn.sendall(op_msg(request_id, bson([("cursor", batch), ("ok", 1.0)])))
            elif mode == "drip":
                log(work, mode, name)
                for b in op_msg(request_id, bson([("ok", 1.0)])) * 20:
                    conn.sendall(bytes([b]))
                    time.sleep(0.5)
            # stall: anything else is never answered
    except (EOFError, OSError):
        pass


def listen(work, mode):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    with open(f"{work}/{mode}.port.tmp", "w") as f:
        f.write(str(s.getsockname()[1]))
    os.rename(f"{work}/{mode}.port.tmp", f"{work}/{mode}.port")
    while True:
        conn, _ = s.accept()
        if mode != "drip":
            log(work, mode, "accepted")
        threading.Thread(target=serve, args=(conn, work, mode), daemon=True).start()


def main():
    if len(sys.argv) < 3 or any(m not in ("silent", "stall", "drip") for m in sys.argv[2:]):
        sys.exit(__doc__)
    work = sys.argv[1]
    for mode in sys.argv[2:]:
        threading.Thread(target=listen, args=(work, mode), daemon=True).start()
    time.sleep(600)


if __name__ == "__main__":
    main()
