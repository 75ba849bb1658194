#!/usr/bin/env python3
"""Writes a mongodump directory for test/integration/secrets_odd.sh: secrets
under key spellings an independent check tried (short forms, whole words,
other languages, odd characters) and a secret beside a string holding a NUL
byte, which jsonb cannot hold.  Secret values hold "YQV"; values beside them
hold "KEEP".
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from secrets_fixture import arr, doc, i32, oid, s, sub, write  # noqa: E402

ODD_KEYS = ['pw', 'MONGODB_URI', 'sentryDsn', 'otpauthUrl', 'userPw', 'auth', 'x-auth', 'jwt', 'otp', 'pinCode', 'sessionId',
            'session_id', 'Passwort', 'mot_de_passe', 'contraseña', 'пароль', 'ПАРОЛЬ',
            '密码', 'パスワード', '\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44',
            'pass\u200bword']


def main(out):
    os.makedirs(out, exist_ok=True)
    write(out, 'Users', [
        # Migrates: every odd key lands in extra_keys.
        doc(oid('_id', '65a1f0c2e4b0a1b2c3d4b061'), s('email', 'KEEP-odd@example.test'),
            s('name', 'KEEP odd'), s('password', 'YQV-main-password'),
            s('userStatus', 'ACTIVE'), s('userLanguage', 'en'), i32('__v', 0),
            sub('odd', *[s(k, 'YQV-odd-%d' % i) for i, k in enumerate(ODD_KEYS)]),
            s('author', 'KEEP-author')),
        # A NUL byte right after the password: text cannot hold it (an
        # error), and jsonb cannot hold it either.
        doc(oid('_id', '65a1f0c2e4b0a1b2c3d4b062'), s('email', 'KEEP-nul@example.test'),
            s('password', 'YQV-beside-nul'), s('name', 'KEEP\x00nul'),
            s('userStatus', 'ACTIVE'), s('userLanguage', 'en'), i32('__v', 0)),
    ])
    # A jsonb field holding a secret: validation reports show it as marks.
    write(out, 'Documents', [
        doc(oid('_id', '65a1f0c2e4b0a1b2c3d4b071'), s('document_name', 'KEEP-doc'),
            s('document_file_mimeType', 'text/plain'), s('document_file_url', 'KEEP-url'),
            arr('tags', lambda k: sub(k, s('label', 'KEEP-tag'), s('apiToken', 'YQV-tag-token'))),
            i32('__v', 0)),
    ])


if __name__ == '__main__':
    main(sys.argv[1])
