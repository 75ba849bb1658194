#!/usr/bin/env python3
"""Prints prisma/schema.prisma with the 23 former loose references left as
plain scalars: every "<scalar>_ref" relation field and its back-relation on
the referenced model removed, everything else unchanged.  The drift test
(test/integration/schema_prisma_drift.sh) diffs the migrations against it to
show what Prisma makes of foreign keys it does not model.

usage: unmodel-loose-refs.py SCHEMA_PRISMA > OUT"""
import re
import sys

REF = re.compile(r'\s+\w+_ref\s+\w+\??\s+@relation\("(\w+)"')
BACK = re.compile(r'\s+\w+\s+\w+\[\]\s+@relation\("(\w+)"\)\s*$')

lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
names = {m.group(1) for m in map(REF.match, lines) if m}
out = [l for l in lines
       if not REF.match(l) and not ((m := BACK.match(l)) and m.group(1) in names)]
sys.stderr.write(f"{len(names)} relations removed\n")
sys.stdout.write("\n".join(out))
