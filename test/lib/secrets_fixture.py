#!/usr/bin/env python3
"""Writes a mongodump directory seeded with canaries, for
test/integration/secrets.sh, and the canaries themselves, one a line.

Usage: secrets_fixture.py DUMP_DIR [CANARY_FILE]
(test/integration/privileges.sh uses the dump alone, without the damaged
file.)

Every canary is a fresh random string (or number), so a grep that finds one
found a value the extension quoted.  They sit under the profile's secret
fields (Users.password, openAi_keys.api_key, systemServices.serviceKey),
under innocent keys (a connection URL with a password in "description"), in
a settings array ([{name: "smtpPassword", value: ...}]), under the keys a
word list missed (parola, key, pincode, ...), in compound _ids with a
member named password, and as the very value that fails: an out-of-range
int, a bad enum label, a string that is not UTF-8, a duplicate e-mail, a
document cut short.
"""
import os
import secrets
import struct
import sys


def cstring(s):
    return s.encode() + b'\x00'


def element(kind, key, payload):
    return bytes([kind]) + cstring(key) + payload


def raw_string(key, data):
    return element(0x02, key, struct.pack('<i', len(data) + 1) + data + b'\x00')


def s(key, value):
    return raw_string(key, value.encode())


def i32(key, v):
    return element(0x10, key, struct.pack('<i', v))


def i64(key, v):
    return element(0x12, key, struct.pack('<q', v))


def oid(key, hexid):
    return element(0x07, key, bytes.fromhex(hexid))


def doc(*elements):
    body = b''.join(elements)
    return struct.pack('<i', len(body) + 5) + body + b'\x00'


def sub(key, *elements):
    return element(0x03, key, doc(*elements))


def arr(key, *items):
    return element(0x04, key, doc(*[f(str(i)) for i, f in enumerate(items)]))


def write(directory, collection, docs):
    with open(os.path.join(directory, collection + '.bson'), 'wb') as f:
        for d in docs:
            f.write(d)


def canary(name):
    return 'CNRY' + name + secrets.token_hex(8)


def main(out, canary_file=None):
    os.makedirs(out, exist_ok=True)
    c = {name: canary(name) for name in (
        'pw', 'url', 'smtp', 'parola', 'jelszo', 'key', 'sessid', 'mfa', 'recovery', 'ak',
        'email', 'enum', 'utf8', 'api', 'api2', 'sk', 'idpw', 'idpw2', 'trunc', 'svcpw')}
    # Numbers: a grep finds their digits.
    c['pin'] = str(secrets.randbelow(9 * 10**13) + 10**13)   # 14 digits, int64
    c['big'] = str(secrets.randbelow(9 * 10**12) + 10**13)   # > int32: Tasks.position
    user = '65a1f0c2e4b0a1b2c3d4a061'
    users = [
        # Migrates: secrets under the profile's field and under keys no word
        # list would name.
        doc(oid('_id', user), s('email', 'ok@example.test'), s('name', 'plain name'),
            s('password', c['pw']), s('userStatus', 'ACTIVE'), s('userLanguage', 'en'),
            i32('__v', 0),
            s('description', 'postgres://admin:' + c['url'] + '@db.example/crm'),
            arr('settings', lambda k: sub(k, s('name', 'smtpPassword'), s('value', c['smtp']))),
            s('parola', c['parola']), s('jelszó', c['jelszo']), s('key', c['key']),
            i64('pincode', int(c['pin'])), s('sessid', c['sessid']), s('mfa_seed', c['mfa']),
            s('recovery_key', c['recovery']), s('access_key_id', c['ak'])),
        # A canary e-mail twice: the second is a unique violation, whose
        # PostgreSQL DETAIL quotes the e-mail.
        doc(oid('_id', '65a1f0c2e4b0a1b2c3d4a062'), s('email', c['email'] + '@example.test'),
            s('name', 'first'), s('userStatus', 'ACTIVE'), s('userLanguage', 'en'), i32('__v', 0)),
        doc(oid('_id', '65a1f0c2e4b0a1b2c3d4a063'), s('email', c['email'] + '@example.test'),
            s('name', 'second'), s('userStatus', 'ACTIVE'), s('userLanguage', 'en'),
            i32('__v', 0)),
        # A bad enum label: the canary is the failing value.
        doc(oid('_id', '65a1f0c2e4b0a1b2c3d4a064'), s('email', 'enum@example.test'),
            s('name', 'enum'), s('userStatus', 'ACTIVE'), s('userLanguage', c['enum']),
            i32('__v', 0)),
        # A name that is not UTF-8: the canary is the failing value.
        doc(oid('_id', '65a1f0c2e4b0a1b2c3d4a065'), s('email', 'utf8@example.test'),
            raw_string('name', c['utf8'].encode() + b'\xff\xfe'), s('userStatus', 'ACTIVE'),
            s('userLanguage', 'en'), i32('__v', 0)),
    ]
    write(out, 'Users', users)
    write(out, 'openAi_keys', [
        doc(oid('_id', '65a1f0c2e4b0a1b2c3d4a071'), oid('user', user),
            s('organization_id', 'org'), s('api_key', c['api']), i32('__v', 0)),
        # A dangling user: an error whose document holds the key.
        doc(oid('_id', '65a1f0c2e4b0a1b2c3d4a072'), oid('user', 'ffffffffffffffffffffffff'),
            s('organization_id', 'org-2'), s('api_key', c['api2']), i32('__v', 0)),
    ])
    write(out, 'Tasks', [
        # An int64 out of integer's range: the canary is the failing value.
        doc(oid('_id', '65a1f0c2e4b0a1b2c3d4a0a1'), i32('__v', 0), i64('position', int(c['big'])),
            s('priority', 'low'), s('title', 't')),
    ])
    write(out, 'systemServices', [
        # Compound _ids with a member named password: one migrates, one fails
        # (an object cannot become the text servicePassword).
        doc(sub('_id', s('tenant', 't1'), s('password', c['idpw'])), s('name', 'service-1'),
            s('serviceKey', c['sk']), i32('__v', 0)),
        doc(sub('_id', s('tenant', 't2'), s('password', c['idpw2'])), s('name', 'service-2'),
            sub('servicePassword', s('v', c['svcpw'])), i32('__v', 0)),
    ])
    if not canary_file:
        return  # privileges.sh: an undamaged dump
    # A damaged file: a whole document, then one cut short inside a canary.
    todo = doc(oid('_id', '65a1f0c2e4b0a1b2c3d4a0b1'), s('title', 'ok'),
               s('description', 'fine'), s('url', 'https://x/'), s('user', 'u'))
    cut = doc(oid('_id', '65a1f0c2e4b0a1b2c3d4a0b2'), s('title', c['trunc']),
              s('description', c['trunc']))
    with open(os.path.join(out, 'TodoList.bson'), 'wb') as f:
        f.write(todo + cut[:len(cut) - 30])
    with open(canary_file, 'w') as f:
        for v in c.values():
            f.write(v + '\n')


if __name__ == '__main__':
    main(*sys.argv[1:3])
