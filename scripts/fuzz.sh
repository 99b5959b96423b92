#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs the libFuzzer targets of tests/fuzz/: scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Installs clang and libFuzzer (scripts/deps.sh), sets up a clang build with -Dfuzzing=true in
# build-fuzz (or $EC2NET_FUZZ_BUILD_DIR), and runs each target (all by default; names as
# 'metadata' or 'fuzz-metadata') for SECONDS (default 60) on a copy of its seed corpus, with its
# dictionary if it has one. Prints, per target, the runs, exec/s, coverage (cov/ft of libFuzzer's
# last line) and the new corpus units, which stay in <build>/fuzz/<target>/corpus for review.
# Exits 1 if any target crashed or broke a property, naming the reproducer: fix the parser, then
# commit the reproducer into tests/fuzz/corpus/<target>/ so that 'meson test' replays it forever.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
BUILD=${EC2NET_FUZZ_BUILD_DIR:-$SRC/build-fuzz}

usage() {
        echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (targets: ${all[*]})" >&2
        exit 2
}

mapfile -t all < <(cd tests/fuzz && ls fuzz-*.c | sed -e 's/^fuzz-//' -e 's/\.c$//' | grep -vx main)
secs=60
if (($# > 0)) && [[ $1 =~ ^[0-9]+$ ]]; then
        secs=$1
        shift
fi
((secs > 0)) || usage
targets=("$@")
((${#targets[@]})) || targets=("${all[@]}")
for i in "${!targets[@]}"; do
        targets[i]=${targets[i]#fuzz-}
        if [[ ! -f tests/fuzz/fuzz-${targets[i]}.c ]]; then
                echo "fuzz.sh: no target '${targets[i]}'" >&2
                usage
        fi
done

bash scripts/deps.sh
if [[ ! -f $BUILD/build.ninja ]]; then
        echo "fuzz.sh: setting up a clang libFuzzer build in $BUILD"
        CC=clang meson setup "$BUILD" "$SRC" -Dfuzzing=true -Dman=disabled \
                -Dnetns-tests=disabled >"$BUILD.setup.log" 2>&1 || { cat "$BUILD.setup.log"; exit 1; }
fi
ninja -C "$BUILD" "${targets[@]/#/tests/fuzz/fuzz-}" >"$BUILD.build.log" 2>&1 ||
        { cat "$BUILD.build.log"; exit 1; }

# The value after NAME (e.g. "cov:") in the last status line of libFuzzer that has it.
field() { # field LOG NAME
        grep -E "^#[0-9]+" "$1" | grep -F " $2 " | tail -n 1 | sed -E "s/.* $2 ([0-9]+).*/\1/" || true
}
final_stat() { # final_stat LOG NAME: from -print_final_stats
        sed -nE "s/^stat::$2: *([0-9]+)$/\1/p" "$1" | tail -n 1
}

failed=0 n_failed=0
summary=()
for t in "${targets[@]}"; do
        bin=$BUILD/tests/fuzz/fuzz-$t
        work=$BUILD/fuzz/$t
        rm -rf "$work"
        mkdir -p "$work/corpus" "$work/artifacts"
        cp -r "tests/fuzz/corpus/$t/." "$work/corpus/"
        seeds=$(find "$work/corpus" -type f | wc -l)
        args=(-max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
                -artifact_prefix="$work/artifacts/")
        [[ -f tests/fuzz/$t.dict ]] && args+=(-dict="tests/fuzz/$t.dict")
        echo "fuzz.sh: fuzz-$t for ${secs}s on $seeds seeds"
        rc=0
        "$bin" "${args[@]}" "$work/corpus" >"$work/log" 2>&1 || rc=$?
        runs=$(final_stat "$work/log" number_of_executed_units)
        speed=$(final_stat "$work/log" average_exec_per_sec)
        cov=$(field "$work/log" cov:)
        ft=$(field "$work/log" ft:)
        new=$(($(find "$work/corpus" -type f | wc -l) - seeds))
        result=ok
        if ((rc != 0)) || compgen -G "$work/artifacts/*" >/dev/null; then
                result=FAILED
                failed=1
                n_failed=$((n_failed + 1))
                grep -E "ERROR|runtime error|property violated|SUMMARY" "$work/log" | head -n 5 || true
                for a in "$work"/artifacts/*; do
                        [[ -e $a ]] && echo "fuzz.sh: fuzz-$t reproducer: $a (replay: $bin $a)"
                done
                echo "fuzz.sh: full log: $work/log"
        fi
        row=$(printf '%-10s %12s %8s %6s %7s %6s  %s' "$t" "${runs:-?}" "${speed:-?}" \
                "${cov:-?}" "${ft:-?}" "$new" "$result")
        summary+=("$row")
done

printf '%-10s %12s %8s %6s %7s %6s  %s\n' target runs exec/s cov ft new result
printf '%s\n' "${summary[@]}"
echo "fuzz.sh: new corpus units are in $BUILD/fuzz/<target>/corpus; to keep the useful ones:"
echo "  $BUILD/tests/fuzz/fuzz-<target> -merge=1 tests/fuzz/corpus/<target> \\"
echo "      $BUILD/fuzz/<target>/corpus"
echo "$((${#targets[@]} - n_failed)) passed, $n_failed failed"
exit $failed
