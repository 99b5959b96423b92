#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The long fault job (issue 6), run by CI after the main suite (scripts/test.sh), as root on
# Debian 12:
#   1. every daemon test (tests/integration/test-daemon-*.sh) with ec2netd under valgrind
#      (memcheck: no error, no definite or indirect leak; valgrind's exit code 99 fails
#      the test through e2n_daemon_stop), on the normal build;
#   2. the churn test with 500 cycles of up to 8 ENIs against the AddressSanitizer +
#      UndefinedBehaviorSanitizer build (leaks checked at exit).
# Uses the build directories of scripts/test.sh (build-ci, build-asan), building them if
# needed. Prints each test's time and ends with the line "N passed, N failed"; exits non-zero
# on any failure. Logs: build-ci/meson-logs/faults/. About 25-40 minutes on 2 cores.
#
# Options: --only-valgrind, --only-churn; environment: CHURN_CYCLES=N, CHURN_ENIS=N, and
# BUILD_DIR / ASAN_BUILD_DIR to use other build directories.
set -uo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD

if [[ $(id -u) != 0 ]]; then
        echo "test-faults.sh: the namespace tests need root; run it with sudo" >&2
        exit 1
fi
bash scripts/deps.sh || exit 1

do_valgrind=1 do_churn=1
case "${1:-}" in
--only-valgrind) do_churn=0 ;;
--only-churn) do_valgrind=0 ;;
"") ;;
*) echo "usage: $0 [--only-valgrind|--only-churn]" >&2; exit 2 ;;
esac

build() { # build DIR MESON-OPTIONS...
        local dir=$1; shift
        if [[ ! -f $dir/build.ninja ]]; then
                meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
        fi
        ninja -C "$dir" >"$dir.build.log" 2>&1 || { cat "$dir.build.log"; return 1; }
}

passed=0 failed=0
T_START=$SECONDS
BUILD=${BUILD_DIR:-$SRC/build-ci}
ASAN_BUILD=${ASAN_BUILD_DIR:-$SRC/build-asan}
LOGS=$BUILD/meson-logs/faults

# run_one NAME CMD...: one test, its output in $LOGS/NAME.log; a line with the verdict.
run_one() {
        local name=$1 t0=$SECONDS rc
        shift
        "$@" >"$LOGS/$name.log" 2>&1
        rc=$?
        if [[ $rc == 0 ]]; then
                passed=$((passed + 1))
                printf '%-40s OK    %4d s\n' "$name" $((SECONDS - t0))
        else
                failed=$((failed + 1))
                printf '%-40s FAIL  %4d s (exit %d; log %s)\n' "$name" $((SECONDS - t0)) "$rc" "$LOGS/$name.log"
                grep -E '^(FAIL|ERROR)|valgrind:|ERROR: |SUMMARY: ' "$LOGS/$name.log" | head -20 | sed 's/^/    /'
        fi
        # Figures the tests print.
        grep -E 'cycles/s|fds, RSS|valgrind: .*(ERROR SUMMARY|lost|All heap)' "$LOGS/$name.log" \
                | sort | uniq -c | sed 's/^/    /' | head -12
}

if ! build "$BUILD" -Dwerror=true -Dbuildtype=debugoptimized; then
        echo "0 passed, 1 failed"
        exit 1
fi
mkdir -p "$LOGS"

if ((do_valgrind)); then
        echo "== the daemon tests with ec2netd under valgrind"
        VALGRIND="valgrind --leak-check=full --show-leak-kinds=definite,indirect"
        VALGRIND+=" --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --num-callers=30"
        [[ -f $SRC/tests/valgrind.supp ]] && VALGRIND+=" --suppressions=$SRC/tests/valgrind.supp"
        for t in "$SRC"/tests/integration/test-daemon-*.sh; do
                name=$(basename "$t" .sh)
                run_one "valgrind:$name" env EC2NET_BUILD_DIR="$BUILD" \
                        EC2NET_SOURCE_DIR="$SRC" E2N_DAEMON_WRAPPER="$VALGRIND" bash "$t"
        done
fi

if ((do_churn)); then
        if build "$ASAN_BUILD" -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
                -Dc_args=-fno-sanitize-recover=all -Dc_link_args=-fno-sanitize-recover=all; then
                echo "== churn under AddressSanitizer + UndefinedBehaviorSanitizer"
                run_one "asan:churn-${CHURN_CYCLES:-500}x${CHURN_ENIS:-8}" env \
                        EC2NET_BUILD_DIR="$ASAN_BUILD" EC2NET_SOURCE_DIR="$SRC" \
                        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
                        bash "$SRC/tests/integration/test-daemon-churn.sh" "${CHURN_CYCLES:-500}" \
                        "${CHURN_ENIS:-8}"
        else
                failed=$((failed + 1))
        fi
fi

leftover=$(ip netns list 2>/dev/null | grep -E "^e2n" || true)
[[ -z $leftover ]] || echo "test-faults.sh: note: e2n namespaces exist (other runs?): $leftover"
echo "time: $(((SECONDS - T_START) / 60)) min $(((SECONDS - T_START) % 60)) s"
echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
