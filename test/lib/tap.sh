# A small TAP producer for the integration tests; sourced by each script,
# which then runs under `prove`.  Loads the rig's environment written by
# scripts/lib/rig.sh.
: "${RIG_DIR:?run integration tests through scripts/test}"
. "$RIG_DIR/env.sh"

TAP_N=0
TAP_FAILED=0

# The assertions.  Each prints one TAP line and, when it fails, what it got.
#   ok STATUS DESC        passes when STATUS (an exit status) is 0
#   fails STATUS DESC     passes when STATUS is not 0 (a command that must fail)
#   holds 'EXPR' DESC     passes when the arithmetic expression EXPR is true
#                         and every variable it names is set and not empty,
#                         e.g. holds "errors >= 10" (never ok $((…)), whose
#                         0/1 reads the other way round, nor (( … )); ok $?:
#                         test_scripts.sh fails on both)
#   is GOT EXPECTED DESC, like GOT REGEX DESC
ok() { # condition-status description
    TAP_N=$((TAP_N + 1))
    if [[ $1 == 0 ]]; then
        echo "ok $TAP_N - $2"
    else
        echo "not ok $TAP_N - $2"
        TAP_FAILED=$((TAP_FAILED + 1))
    fi
}

is() { # got expected description
    TAP_N=$((TAP_N + 1))
    if [[ "$1" == "$2" ]]; then
        echo "ok $TAP_N - $3"
    else
        echo "not ok $TAP_N - $3"
        printf '#   got:      %s\n#   expected: %s\n' "$1" "$2"
        TAP_FAILED=$((TAP_FAILED + 1))
    fi
}

like() { # got regex description
    TAP_N=$((TAP_N + 1))
    if [[ "$1" =~ $2 ]]; then
        echo "ok $TAP_N - $3"
    else
        echo "not ok $TAP_N - $3"
        printf '#   got:      %s\n#   expected to match: %s\n' "$1" "$2"
        TAP_FAILED=$((TAP_FAILED + 1))
    fi
}

fails() { # status description
    if [[ $1 != 0 ]]; then ok 0 "$2"; else ok 1 "$2"; fi
}

holds() { # arithmetic-expression description
    # A variable the expression names that is unset or empty fails it: bash
    # reads it as 0, so a count whose query failed (processed=$(q …) left
    # empty) would pass "processed < N".
    local _holds_name
    for _holds_name in $(grep -oE '[[:alpha:]_][[:alnum:]_]*' <<<"$1"); do
        if [[ -z ${!_holds_name:-} ]]; then
            ok 1 "$2"
            printf '#   %s is empty in: %s\n' "$_holds_name" "$1"
            return
        fi
    done
    # In a subshell: a malformed expression fails the assertion, not the script.
    if ( (($1)) ) 2>/dev/null; then
        ok 0 "$2"
    else
        ok 1 "$2"
        printf '#   false: %s\n' "$1"
    fi
}

done_testing() {
    echo "1..$TAP_N"
    ((TAP_FAILED == 0))
}

# psql that stops at the first error and prints bare values.
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }

# Waits until file $2 has a line matching the grep pattern $1, checking every
# 0.05 s for at most 2 minutes (a bound, so that a wait that never ends
# fails the test instead of hanging the suite; no test relies on its length).
wait_for_output() { # pattern file
    local i
    for ((i = 0; i < 2400; i++)); do
        grep -q "$1" "$2" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "# waited 2 minutes for '$1' in $2"
    return 1
}
