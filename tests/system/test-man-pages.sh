#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every built man page renders without a single warning, in mandoc's lint mode and in groff
# (through man -l with warnings on). Usage: test-man-pages.sh PAGE...
source "$(dirname "$0")/lib.sh"

(($# > 0)) || die "no man pages given"
need_cmd mandoc man groff

for page in "$@"; do
        echo "+ mandoc -T lint -W warning $page" >&2
        out=$(mandoc -T lint -W warning "$page" 2>&1) || die "mandoc failed on $page: $out"
        [[ -z "$out" ]] || die "mandoc warnings for $page: $out"
        echo "+ man --warnings -l $page" >&2
        out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings=all -E UTF-8 -l "$page" 2>&1 >/dev/null) ||
                die "man failed on $page: $out"
        [[ -z "$out" ]] || die "groff warnings for $page: $out"
        echo "ok: $(basename "$page")"
done
