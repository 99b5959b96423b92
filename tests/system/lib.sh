# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers for the system checks (suite 'system'): packaging, unit file, man pages, rules.
# Sourced by the test-*.sh scripts. Exit 77 is a skip, except in CI ($CI set), where a check
# that cannot run is a failure (style.md §14).

set -euo pipefail

die() {
        echo "FAIL: $*" >&2
        exit 1
}

skip() {
        if [[ -n "${CI:-}" ]]; then
                echo "ERROR: $* (in CI a skip is a failure)" >&2
                exit 1
        fi
        echo "SKIP: $*"
        exit 77
}

need_cmd() {
        local c
        for c in "$@"; do
                command -v "$c" >/dev/null || skip "$c not found"
        done
}

need_root() {
        [[ $(id -u) -eq 0 ]] || skip "this check needs root"
}

# A temporary directory removed on exit, in $TMP_DIR.
make_tmp_dir() {
        TMP_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ec2net-system.XXXXXX")
        trap 'rm -rf "$TMP_DIR"' EXIT
}

run() {
        echo "+ $*" >&2
        "$@"
}
