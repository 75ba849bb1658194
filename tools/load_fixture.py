#!/usr/bin/env python3
"""Documents for the load path's limits (test/integration/load_limits.sh),
appended as BSON to a mongodump directory's collection files.

  load_fixture.py users DIR N LANG     N Users (ids 66..0000 + i), userLanguage LANG
  load_fixture.py board DIR N OWNER    one Board (id 66b0..01, user OWNER) whose
                                       sharedWith lists those N users
  load_fixture.py status DIR LEN N BAD N crm_Accounts, BAD of them (spread evenly)
                                       with a status of LEN characters
  load_fixture.py big DIR N MB         N Documents of about MB megabytes each
  load_fixture.py bigjson DIR N MB     the same, the megabytes a key the mapping does not
                                       know holding control characters (U+0001): six
                                       times as many bytes as JSON
  load_fixture.py dupes DIR N BAD      N Users (ids 66e0..0000 + i), BAD of them (spread
                                       evenly) with the first one's e-mail (unique)

BSON is written by hand (the python bson module is not installed): only the
few element types these documents need.
"""
import random
import string
import struct
import sys


def cstring(s):
    return s.encode() + b"\0"


def element(key, value):
    if isinstance(value, Oid):
        return b"\x07" + cstring(key) + bytes.fromhex(value.hex)
    if isinstance(value, str):
        b = value.encode()
        return b"\x02" + cstring(key) + struct.pack("<i", len(b) + 1) + b + b"\0"
    if isinstance(value, bool):
        return b"\x08" + cstring(key) + (b"\x01" if value else b"\x00")
    if isinstance(value, int):
        return b"\x10" + cstring(key) + struct.pack("<i", value)
    if isinstance(value, list):
        return b"\x04" + cstring(key) + document({str(i): v for i, v in enumerate(value)})
    if isinstance(value, dict):
        return b"\x03" + cstring(key) + document(value)
    raise TypeError(type(value))


def document(fields):
    body = b"".join(element(k, v) for k, v in fields.items())
    return struct.pack("<i", len(body) + 5) + body + b"\0"


class Oid:
    def __init__(self, hex):
        assert len(hex) == 24
        self.hex = hex


def user_id(i):
    return Oid("66a0%020x" % i)


def append(dir, collection, docs):
    with open("%s/%s.bson" % (dir, collection), "ab") as f:
        for d in docs:
            f.write(document(d))


def main():
    mode, dir = sys.argv[1], sys.argv[2]
    if mode == "users":
        n, lang = int(sys.argv[3]), sys.argv[4]
        append(dir, "Users", ({"_id": user_id(i), "email": "load%d@example.com" % i,
                               "userLanguage": lang} for i in range(n)))
    elif mode == "board":
        n, owner = int(sys.argv[3]), sys.argv[4]
        append(dir, "Boards", [{"_id": Oid("66b0%020x" % 1), "title": "shared widely",
                                "description": "a list of many users", "user": Oid(owner),
                                "sharedWith": [user_id(i) for i in range(n)]}])
    elif mode == "status":
        length, n, bad = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
        # Letters that do not compress: a btree stores a long key compressed.
        rng = random.Random(7)
        text = "".join(rng.choice(string.ascii_letters) for _ in range(length))
        step = n // bad if bad else n + 1
        append(dir, "crm_Accounts", [{"_id": Oid("66c0%020x" % i), "name": "account %d" % i,
                                      "status": text[i:] + text[:i] if i % step == step // 2
                                      else "Active"} for i in range(n)])
    elif mode in ("big", "bigjson"):
        n, mb = int(sys.argv[3]), float(sys.argv[4])
        size = int(mb * 1024 * 1024)
        # The description's element is built once and written as it is for
        # each document (building each document whole copied it several
        # times over: most of the time this fixture took).
        description = (element("description", "d" * size) if mode == "big"
                       else element("legacy_blob", "\x01" * size))
        with open("%s/Documents.bson" % dir, "ab") as f:
            for i in range(n):
                head = b"".join(element(k, v) for k, v in {
                    "_id": Oid("66d0%020x" % i), "document_name": "%s %d" % (mode, i),
                    "document_file_mimeType": "text/plain", "document_file_url": "u"}.items())
                f.write(struct.pack("<i", len(head) + len(description) + 5))
                f.write(head)
                f.write(description)
                f.write(b"\0")
    elif mode == "dupes":
        n, bad = int(sys.argv[3]), int(sys.argv[4])
        step = n // bad if bad else n + 1
        append(dir, "Users", ({"_id": Oid("66e0%020x" % i),
                               "email": "dupe0@example.com" if bad and i % step == step // 2
                               else "dupe%d@example.com" % i,
                               "userLanguage": "en"} for i in range(n)))
    else:
        sys.exit("unknown mode " + mode)


main()
