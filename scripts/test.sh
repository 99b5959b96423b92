#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The whole test suite, as root on Debian 12: installs what it needs, builds twice (warnings as
# errors; then AddressSanitizer + UndefinedBehaviorSanitizer), runs every suite in both builds,
# namespace tests included, and ends with the line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD

if [[ $(id -u) != 0 ]]; then
        echo "test.sh: the namespace tests need root; run it with sudo" >&2
        exit 1
fi
bash scripts/deps.sh || exit 1

passed=0 failed=0 skipped=0
count() { # count BUILDDIR: add that build's results from meson's test log
        local line
        line=$(python3 - "$1/meson-logs/testlog.json" <<'PY'
import json, sys
p = f = s = 0
for l in open(sys.argv[1]):
    r = json.loads(l)["result"]
    if r in ("OK", "EXPECTEDFAIL"): p += 1
    elif r == "SKIP": s += 1
    else: f += 1
print(p, f, s)
PY
) || { failed=$((failed + 1)); return; }
        read -r p f s <<<"$line"
        passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

build() { # build DIR MESON-OPTIONS...
        local dir=$1; shift
        if [[ ! -f $dir/build.ninja ]]; then
                meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
        fi
        ninja -C "$dir" >"$dir.build.log" 2>&1 || { cat "$dir.build.log"; return 1; }
}

run_suite() { # run_suite DIR LABEL
        echo "== $2"
        meson test -C "$1" --print-errorlogs --num-processes 2 2>&1 |
                grep -E '^ *[0-9]+/[0-9]+ |^(Ok|Fail|Skipped|Timeout):|^---|^[^ ]' | grep -v '^Full log'
        count "$1"
}

if build "$SRC/build-ci" -Dwerror=true -Dbuildtype=debugoptimized; then
        run_suite "$SRC/build-ci" "normal build (-Werror)"
else
        failed=$((failed + 1))
fi
if build "$SRC/build-asan" -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
        -Dc_args=-fno-sanitize-recover=all -Dc_link_args=-fno-sanitize-recover=all; then
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
                run_suite "$SRC/build-asan" "AddressSanitizer + UndefinedBehaviorSanitizer"
else
        failed=$((failed + 1))
fi

leftover=$(ip netns list 2>/dev/null | grep -E '^e2n' || true)
if [[ -n $leftover ]]; then
        echo "test.sh: namespaces left behind: $leftover"
        failed=$((failed + 1))
fi
echo "$passed passed, $failed failed, $skipped skipped"
[[ $failed == 0 && $skipped == 0 ]]
