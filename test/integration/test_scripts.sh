#!/usr/bin/env bash
# The test scripts' own faults: pg_regress's summary read in both its formats
# (15, and TAP from 16 on), a failed mktemp that must stop rig_start before it
# makes folders at /, the server's own clients first in PATH, and a version
# tier (test/integration/versions) for every integration script, pg17+ ones
# run on 17 and 18 only, and the check of the server log for a crashed
# backend.
. "$(dirname "$0")/../lib/tap.sh"
ROOT=$NEXTCRM_ROOT
. "$ROOT/scripts/lib/count.sh"
fixtures=$ROOT/test/fixtures/pg_regress

for v in pg15 pg16; do
    is "$(count_regress "$fixtures/$v-pass.out" 3 0)" "3 0" "$v format: 3 passed counted"
    is "$(count_regress "$fixtures/$v-fail.out" 3 1)" "2 1" "$v format: 2 passed, 1 failed counted"
done
is "$(count_regress "$fixtures/pg16-pass.out" 4 0)" "3 1" "a test that printed no line counts as failed"
is "$(count_regress /dev/null 3 2)" "0 3" "no output at all: every test failed"

# rig_start under a TMPDIR where mktemp fails: an error, no folders at /.
out=$(TMPDIR=/nonexistent-$$ PG_CONFIG=$PG_CONFIG bash -c \
    ". '$ROOT/scripts/lib/common.sh'; . '$ROOT/scripts/lib/rig.sh'; rig_start; echo started" 2>&1)
status=$?
fails $status "rig_start fails when mktemp fails"
like "$out" "could not create the rig's directory" "and says why"
[[ $out != *started* && ! -e /pg && ! -e /sock && ! -e /ferretdb ]]
ok $? "and creates nothing at /"

# psql of the server's own major version (a 15 pg_dump refuses a 16 server).
server=$(q -c 'SHOW server_version_num')
client=$(psql --version | sed -nE 's/.* ([0-9]+)\.[0-9]+.*/\1/p')
is "$client" "$((server / 10000))" "psql in PATH is of the server's major version"

# The check of the server log that ends every run (rig_crash_lines, scripts/lib/rig.sh),
# on a planted log: a backend that died by a signal, a PANIC and a child whose
# exit code (2, 134; 18 names a backend "client backend") made the postmaster
# restart every process are printed; a kill a test listed in expected_kills,
# an ordinary error and a worker's exit code 1 (its ERROR) are not.
planted=$(mktemp -d)
cat >"$planted/server.log" <<'LOG'
2026-12-07 10:00:00.000 UTC [100] LOG:  server process (PID 4242) was terminated by signal 11: Segmentation fault
2026-12-07 10:00:01.000 UTC [100] LOG:  background worker "nextcrm migration" (PID 4343) was terminated by signal 9: Killed
2026-12-07 10:00:02.000 UTC [4444] PANIC:  could not write to file "pg_wal/xlogtemp.4444": No space left on device
2026-12-07 10:00:03.000 UTC [4545] ERROR:  relation "missing" does not exist
2026-12-07 10:00:04.000 UTC [100] LOG:  server process (PID 4646) exited with exit code 2
2026-12-07 10:00:05.000 UTC [100] LOG:  background worker "nextcrm migration" (PID 4747) exited with exit code 1
2026-12-07 10:00:06.000 UTC [100] LOG:  client backend (PID 4848) exited with exit code 134
LOG
echo 4343 >"$planted/expected_kills"
crashes=$(PG_LOG=$planted/server.log RIG_DIR=$planted bash -c \
    '. <(sed -n "/^rig_crash_lines()/,/^}/p" "$1/scripts/lib/rig.sh"); rig_crash_lines' _ "$ROOT")
is "$crashes" "$(sed -n '1p;3p;5p;7p' "$planted/server.log")" \
    "the crash check prints a crashed backend, a PANIC and a crash exit code, not a listed kill, an error nor exit code 1"
rm -rf "$planted"

# The assertion vocabulary itself (test/lib/tap.sh): each passes and fails
# the right way round, and a malformed expression fails rather than passes.
vocab=$(bash -c 'TAP_N=0; TAP_FAILED=0; . <(sed -n "/^ok()/,\$p" "$1/test/lib/tap.sh")
    x=12; holds "x >= 10" a; holds "x < 10" b; holds "+ +" c; fails 0 d; fails 3 e; ok 0 f; ok 1 g
    y=; holds "y < 10" h; holds "unset_var == 0" i' _ "$ROOT" 2>&1 |
    grep -E '^(not )?ok' | sed -E 's/ [0-9]+ - / /' | tr '\n' ' ')
is "$vocab" "ok a not ok b not ok c not ok d ok e ok f not ok g not ok h not ok i " \
    "holds, fails and ok pass and fail the right way round; an empty or unset variable fails holds"

# One assertion vocabulary (test/lib/tap.sh): arithmetic is asserted with
# holds, never passed to ok (ok $((x < 10)) reads the status the other way
# round and passes when x >= 10), nor as a bare (( … )) followed by ok $?.
# Prints FILE:LINE of each such line.
arith_idioms() { # file...
    grep -nHE '^[^#]*(^|[^[:alnum:]_])ok [$][(][(]' "$@" | cut -d: -f1,2
    awk 'prev ~ /^[[:space:]]*[(][(].*[)][)][[:space:]]*$/ && /^[[:space:]]*ok [$][?]/ {
        print FILENAME ":" FNR } { prev = $0 }' "$@"
}
planted=$(mktemp)
# (The first line is split so that this file does not hold it.)
printf '%s\n' 'ok $''((n < 10)) "n below 10"' '((n < 10))' 'ok $? "n below 10"' 'holds "n < 10" "n below 10"' >"$planted"
is "$(arith_idioms "$planted" | sed 's/.*://' | tr '\n' ' ')" "1 3 " "the check finds both arithmetic idioms and passes holds"
rm -f "$planted"
is "$(arith_idioms "$ROOT"/test/integration/*.sh "$ROOT"/test/lib/*.sh)" "" \
    "no test script asserts arithmetic with ok"

# Every integration script has a tier, and every tier names a script: a new
# script would otherwise run where nobody decided, a removed one leave a stale line.
listed=$(awk '!/^#/ && NF { print $1 }' "$ROOT/test/integration/versions" | sort)
present=$(cd "$ROOT/test/integration" && ls -- *.sh | sort)
is "$listed" "$present" "test/integration/versions lists exactly the integration scripts"
bad=$(awk '!/^#/ && NF && $2 !~ /^(smoke|main|once|pg17\+|newest)$/ { print $1 }' "$ROOT/test/integration/versions")
is "$bad" "" "each with a tier of smoke, main, once, pg17+ or newest"

# The tiers as scripts/test reads them: each version's default tier (16
# full, 15 main, 17 and 18 smoke) with a fake pg_config of that version.
fake=$(mktemp -d)
tiers() { # major tier → the scripts of a smoke, a main and a pg17+ line that run
    printf '#!/bin/sh\necho "PostgreSQL %s.1"\n' "$1" >"$fake/pg_config" && chmod +x "$fake/pg_config"
    ROOT=$ROOT PG_CONFIG=$fake/pg_config bash -c '. <(sed -n "/^scripts_of_tier()/,/^}/p" "$ROOT/scripts/test")
        scripts_of_tier "$1" t/migrate.sh t/validate.sh t/v0212_target.sh t/v0212_app.sh' _ "$2" |
        tr '\n' ' '
}
is "$(tiers 15 main)" "t/migrate.sh t/validate.sh " "pg17+ and newest scripts do not run on 15"
is "$(tiers 16 full)" "t/migrate.sh t/validate.sh " "nor on 16"
is "$(tiers 17 smoke)" "t/migrate.sh t/v0212_target.sh " "pg17+ ones run on 17 beside the smoke scripts"
is "$(tiers 18 smoke)" "t/migrate.sh t/v0212_target.sh t/v0212_app.sh " "and on 18, with the newest ones"
is "$(tiers 17 full)" "t/migrate.sh t/validate.sh t/v0212_target.sh t/v0212_app.sh " \
    "one installation of 17 (PG_CONFIG) runs them all"
rm -rf "$fake"

# NEXTCRM_TESTS as scripts/test reads it: a glob that matches no script
# fails the selection (a misspelt name must not shrink the run unnoticed),
# and a glob is never expanded against the current folder.
named() { # globs → the scripts picked, then the status
    ROOT=$ROOT bash -c '. <(sed -n "/^scripts_named()/,/^}/p" "$ROOT/scripts/test")
        scripts_named "$1" t/migrate.sh t/migrate_resume.sh t/dump.sh t/dump_oplog.sh; echo "status $?"' _ "$1" 2>&1 |
        tr '\n' ' '
}
is "$(named 'migrate_resume.sh dump*')" "t/migrate_resume.sh t/dump.sh t/dump_oplog.sh status 0 " \
    "NEXTCRM_TESTS picks the scripts its names and globs match"
is "$(named 'migrate.sh migrate_resume_chnged.sh')" \
    "NEXTCRM_TESTS: no integration script matches migrate_resume_chnged.sh t/migrate.sh status 1 " \
    "a name that matches no script fails the selection"
cwd=$(mktemp -d)
touch "$cwd/dump_other.txt"
is "$(cd "$cwd" && named 'dump_o*')" "t/dump_oplog.sh status 0 " \
    "a glob is matched against the scripts, not the current folder's files"
rm -rf "$cwd"

# The matrix's lanes as scripts/test checks them at the end: an item that
# left no summary line (its lane died before reaching it) is named, so it is
# counted as a failure instead of vanishing from the total.
lanes=$(mktemp)
printf '%s\n' 'pg16  build        1 passed, 0 failed' 'all   sanitize     9 passed, 0 failed' \
    'pg15  build        0 passed, 1 failed' >"$lanes"
unreported() { # suites… → the labels unreported_items prints
    ROOT=$ROOT bash -c '. <(sed -n "/^unreported_items()/,/^}/p" "$ROOT/scripts/test")
        f=$1; shift; suites=("$@"); unreported_items "$f" "16 17" "sanitize 15 18"' _ "$lanes" "$@" |
        tr '\n' ' '
}
is "$(unreported)" "pg17 pg18 " "a version no lane reported on is named, a failed one is not"
sed -i '/^all /d' "$lanes"
is "$(unreported)" "pg17 all pg18 " "so is sanitize, when every suite runs"
is "$(unreported regress)" "pg17 pg18 " "and not otherwise (it runs only with every suite)"
rm -f "$lanes"

# A rig that does not start ends the run as any failure does: counted, with
# the summary as the last line (a fake installation whose initdb fails).
fake=$(mktemp -d)
chmod 755 "$fake"
mkdir "$fake/bin"
printf '#!/bin/sh\ncase $1 in --version) echo "PostgreSQL 16.1" ;; --bindir) echo "%s/bin" ;; esac\n' \
    "$fake" >"$fake/pg_config"
printf '#!/bin/sh\necho "initdb: planted failure" >&2\nexit 1\n' >"$fake/bin/initdb"
chmod 755 "$fake/pg_config" "$fake/bin/initdb"
# Its own run, not the matrix's: the lane's summary file and label stay out.
out=$(env -u NEXTCRM_SUMMARY -u NEXTCRM_PG_LABEL -u NEXTCRM_TEST_TIER PG_CONFIG=$fake/pg_config \
    NEXTCRM_SKIP_DEPS=1 NEXTCRM_SKIP_BUILD=1 "$ROOT/scripts/test" regress 2>&1)
is "$?" 1 "a rig whose initdb fails makes scripts/test exit 1"
is "$(tail -1 <<<"$out")" "0 passed, 1 failed" "and its last line counts the failure"
like "$out" "pg16  rig          0 passed, 1 failed" "as the rig's"
rm -rf "$fake"

done_testing
