#!/usr/bin/env bash
# The test scripts' own faults: pg_regress's summary read in both its formats
# (15, and TAP from 16 on), a failed mktemp that must stop rig_start before it
# makes folders at /, the server's own clients first in PATH, and a version
# tier (test/integration/versions) for every integration script, pg17+ ones
# run on 17 and 18 only.
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

# The assertion vocabulary itself (test/lib/tap.sh): each passes and fails
# the right way round, and a malformed expression fails rather than passes.
vocab=$(bash -c 'TAP_N=0; TAP_FAILED=0; . <(sed -n "/^ok()/,\$p" "$1/test/lib/tap.sh")
    x=12; holds "x >= 10" a; holds "x < 10" b; holds "+ +" c; fails 0 d; fails 3 e; ok 0 f; ok 1 g' _ "$ROOT" 2>&1 |
    grep -E '^(not )?ok' | sed -E 's/ [0-9]+ - / /' | tr '\n' ' ')
is "$vocab" "ok a not ok b not ok c not ok d ok e ok f not ok g " "holds, fails and ok pass and fail the right way round"

# Every integration script has a tier, and every tier names a script: a new
# script would otherwise run where nobody decided, a removed one leave a stale line.
listed=$(awk '!/^#/ && NF { print $1 }' "$ROOT/test/integration/versions" | sort)
present=$(cd "$ROOT/test/integration" && ls -- *.sh | sort)
is "$listed" "$present" "test/integration/versions lists exactly the integration scripts"
bad=$(awk '!/^#/ && NF && $2 !~ /^(smoke|main|once|pg17\+)$/ { print $1 }' "$ROOT/test/integration/versions")
is "$bad" "" "each with a tier of smoke, main, once or pg17+"

# The tiers as scripts/test reads them: each version's default tier (16
# full, 15 main, 17 and 18 smoke) with a fake pg_config of that version.
fake=$(mktemp -d)
tiers() { # major tier → the scripts of a smoke, a main and a pg17+ line that run
    printf '#!/bin/sh\necho "PostgreSQL %s.1"\n' "$1" >"$fake/pg_config" && chmod +x "$fake/pg_config"
    ROOT=$ROOT PG_CONFIG=$fake/pg_config bash -c '. <(sed -n "/^scripts_of_tier()/,/^}/p" "$ROOT/scripts/test")
        scripts_of_tier "$1" t/migrate.sh t/validate.sh t/v0212_target.sh' _ "$2" | tr '\n' ' '
}
is "$(tiers 15 main)" "t/migrate.sh t/validate.sh " "pg17+ scripts do not run on 15"
is "$(tiers 16 full)" "t/migrate.sh t/validate.sh " "nor on 16"
is "$(tiers 17 smoke)" "t/migrate.sh t/v0212_target.sh " "they run on 17 beside the smoke scripts"
is "$(tiers 18 smoke)" "t/migrate.sh t/v0212_target.sh " "and on 18"
rm -rf "$fake"

done_testing
