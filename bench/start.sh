# Sourced by a benchmark after scripts/lib/common.sh and scripts/lib/rig.sh:
# installs what is missing (unless NEXTCRM_SKIP_DEPS is set), builds and
# installs the extension, starts the rig with fsync on (as in production;
# the tests turn it off), makes $work, a folder the postgres user can read,
# and sources bench/lib.sh.
[[ -n "${NEXTCRM_SKIP_DEPS:-}" ]] ||
    "$here/scripts/install-deps" >/dev/null || die "installing dependencies failed"
"$here/scripts/build" || die "building failed"
RIG_FSYNC=on rig_start
work=$RIG_DIR/bench
mkdir -p "$work" && chmod 755 "$work"
. "$here/bench/lib.sh"
