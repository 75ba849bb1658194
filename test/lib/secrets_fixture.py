#!/usr/bin/env python3
"""Writes a mongodump directory whose documents hide secrets at every depth,
of every BSON type, in known and unknown fields, for test/integration/secrets.sh.

Every secret value holds a marker the test greps for afterwards: strings hold
"ZQX"; numbers are 98765xxxx (int32), 1234567891x (int64) and 9876.5003
(double); binaries hold the bytes "ZQXBIN" (base64 "WlFYQklO").  The
non-secret values beside them must survive: they hold "KEEP".
"""
import os
import struct
import sys


def cstring(s):
    return s.encode() + b'\x00'


def element(kind, key, payload):
    return bytes([kind]) + cstring(key) + payload


def s(key, value):
    b = value.encode()
    return element(0x02, key, struct.pack('<i', len(b) + 1) + b + b'\x00')


def i32(key, v):
    return element(0x10, key, struct.pack('<i', v))


def i64(key, v):
    return element(0x12, key, struct.pack('<q', v))


def dbl(key, v):
    return element(0x01, key, struct.pack('<d', v))


def binary(key, data):
    return element(0x05, key, struct.pack('<i', len(data)) + b'\x00' + data)


def oid(key, hexid):
    return element(0x07, key, bytes.fromhex(hexid))


def doc(*elements):
    body = b''.join(elements)
    return struct.pack('<i', len(body) + 5) + body + b'\x00'


def sub(key, *elements):
    return element(0x03, key, doc(*elements))


def arr(key, *docs_or_elements):
    items = [e(str(i)) if callable(e) else e for i, e in enumerate(docs_or_elements)]
    return element(0x04, key, doc(*items))


def write(directory, collection, docs):
    with open(os.path.join(directory, collection + '.bson'), 'wb') as f:
        for d in docs:
            f.write(d)


USER_OK = '65a1f0c2e4b0a1b2c3d4a061'
USER_BAD = '65a1f0c2e4b0a1b2c3d4a062'


def main(out):
    os.makedirs(out, exist_ok=True)
    write(out, 'Users', [
        # Migrates: a numeric password (a repair), secrets in unknown keys at
        # depth 1 to 6, in arrays, of types string, int32, int64, double, binary.
        doc(oid('_id', USER_OK), s('email', 'KEEP-ok@example.test'), s('name', 'KEEP name'),
            i64('password', 12345678915), s('userStatus', 'ACTIVE'), s('userLanguage', 'en'),
            i32('__v', 0),
            s('oldPassword', 'ZQX-old-password'),
            sub('legacy', s('password', 'ZQX-legacy-password'), s('note', 'KEEP-legacy')),
            arr('integrationList', lambda k: sub(k, s('api_key', 'ZQX-array-api-key'),
                                                 s('label', 'KEEP-label'))),
            arr('apiKeys', lambda k: s(k, 'ZQX-secret-named-list')),
            sub('settings', sub('integrations', sub('slack', sub('oauth', sub('x',
                i32('refreshToken', 987650001), dbl('API-KEY', 9876.5003),
                binary('privateKey', b'ZQXBIN'), s('color', 'KEEP-deep')))))),
            sub('Credentials', s('user', 'ZQX-credentials-sub'), i32('n', 987650002))),
        # Fails (an unknown enum label): the error table keeps the document.
        doc(oid('_id', USER_BAD), s('email', 'KEEP-bad@example.test'), s('name', 'KEEP bad'),
            s('password', 'ZQX-failing-password'), s('userLanguage', 'xx'), i32('__v', 0),
            sub('legacy', s('password', 'ZQX-failing-nested'),
                arr('tokens', lambda k: s(k, 'ZQX-failing-token-list'))),
            s('service_key', 'ZQX-failing-service-key')),
    ])
    write(out, 'openAi_keys', [
        # A numeric api_key: converted, recorded as a repair.
        doc(oid('_id', '65a1f0c2e4b0a1b2c3d4a071'), oid('user', USER_OK),
            s('organization_id', 'KEEP-org'), i64('api_key', 12345678916), i32('__v', 0)),
        # A dangling user: an error whose document holds the key.
        doc(oid('_id', '65a1f0c2e4b0a1b2c3d4a072'), oid('user', 'ffffffffffffffffffffffff'),
            s('organization_id', 'KEEP-org-2'), s('api_key', 'ZQX-dangling-api-key'),
            i32('__v', 0)),
    ])
    write(out, 'secondBrain_notions', [
        doc(oid('_id', '65a1f0c2e4b0a1b2c3d4a081'), oid('user', USER_OK),
            i32('notion_api_key', 987650003), s('notion_db_id', 'KEEP-db'), i32('__v', 0)),
    ])
    write(out, 'systemServices', [
        doc(oid('_id', '65a1f0c2e4b0a1b2c3d4a091'), s('name', 'KEEP-service'),
            i32('serviceKey', 987650004), i64('servicePassword', 12345678917), i32('__v', 0)),
        # A double cannot become text: an error whose document holds it.
        doc(oid('_id', '65a1f0c2e4b0a1b2c3d4a092'), s('name', 'KEEP-service-3'),
            dbl('servicePassword', 9876.5003), i32('__v', 0)),
        # A compound _id holding a secret: listed in foreign_ids.
        doc(sub('_id', s('token', 'ZQX-id-token'), s('n', 'KEEP-id')),
            s('name', 'KEEP-service-2'), s('serviceKey', 'ZQX-service-key'), i32('__v', 0)),
    ])


if __name__ == '__main__':
    main(sys.argv[1])
