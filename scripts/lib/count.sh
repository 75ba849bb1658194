# Counting test results from the runners' output; sourced by scripts/test and
# by test/integration/test_scripts.sh.

# pg_regress prints one line per test: "test name ... ok" up to 15 (in a
# parallel group "     name ... ok"), TAP from 16 on ("ok 1 - name",
# "not ok 2 + name" in a parallel group; 17 and 18 pad the number).  Prints
# "PASSED FAILED" for output file $1 of a run that exited with status $3 and
# should have run $2 tests: a test that printed no line of either kind counts
# as failed, and so does a failed run that printed no failing line.
count_regress() { # output-file expected-tests exit-status
    local ok bad
    ok=$(grep -cE '\.\.\. ok|^ok +[0-9]+ +[-+] ' "$1")
    bad=$(grep -cE '\.\.\. (FAILED|failed)|^not ok +[0-9]+ +[-+] ' "$1")
    if ((ok + bad < $2)); then bad=$(($2 - ok)); fi
    if (($3 != 0 && bad == 0)); then bad=1; fi
    echo "$ok $bad"
}

# TAP "ok"/"not ok" lines of output file $1 (pg_prove, prove) of a run that
# exited with status $2, as "PASSED FAILED"; a harness that failed without a
# failing line (a died script, a plan mismatch) counts as one more failure.
count_tap() { # output-file exit-status
    local ok notok
    ok=$(grep -cE '^[[:space:]]*ok [0-9]+' "$1")
    notok=$(grep -cE '^[[:space:]]*not ok [0-9]+' "$1")
    if (($2 != 0 && notok == 0)); then notok=1; fi
    echo "$ok $notok"
}
