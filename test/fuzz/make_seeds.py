#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets under test/fuzz/<target>/seed-*.

    python3 test/fuzz/make_seeds.py [EDGES_PY]

The shared edge cases (EDGES_PY, default /work/shared/cases/edges.py: deep
nesting, NUL, invalid UTF-8 keys, duplicate keys, ...) become seeds of every
target: each dump file as a whole for the dump reader, each document for
bson_convert, and "<collection>\\0<document>" for doc_transform.  A few
hand-made damaged frames are added to the dump reader's seeds.
"""
import gzip, os, struct, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
edges = sys.argv[1] if len(sys.argv) > 1 else '/work/shared/cases/edges.py'


def documents(blob):
    out, i = [], 0
    while i + 4 <= len(blob):
        n = struct.unpack_from('<i', blob, i)[0]
        if n < 5 or i + n > len(blob):
            break
        out.append(blob[i:i + n])
        i += n
    return out


def put(target, name, data):
    d = os.path.join(here, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'seed-' + name), 'wb') as f:
        f.write(data)


with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([sys.executable, edges, tmp], check=True, stdout=subprocess.DEVNULL)
    for case in sorted(os.listdir(tmp)):
        for fname in sorted(os.listdir(os.path.join(tmp, case))):
            raw = open(os.path.join(tmp, case, fname), 'rb').read()
            tag = case + '-' + fname
            put('dump_reader', tag, raw)
            plain = gzip.decompress(raw) if fname.endswith('.gz') else raw
            coll = fname.split('.bson')[0]
            for n, doc in enumerate(documents(plain)):
                put('bson_convert', '%s-%d' % (tag, n), doc)
                put('doc_transform', '%s-%d' % (tag, n), coll.encode() + b'\0' + doc)

# Damaged frames: truncated, a length prefix past the end, a negative one,
# a gzip stream cut short, an empty file.
ok = struct.pack('<i', 5) + b'\0'
put('dump_reader', 'empty', b'')
put('dump_reader', 'truncated-prefix', b'\x10\x00')
put('dump_reader', 'length-past-end', struct.pack('<i', 1000) + b'\x02')
put('dump_reader', 'negative-length', struct.pack('<i', -7) + b'\0' * 8)
put('dump_reader', 'gzip-cut', gzip.compress(ok * 50)[:-9])
put('dump_reader', 'two-empty-docs', ok * 2)
