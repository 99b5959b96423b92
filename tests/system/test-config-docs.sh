#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The shipped ec2net.conf and ec2net.conf(5) follow the table of keys in lib/config.c:
#  - the commented default file parses and changes nothing;
#  - with every key uncommented it parses to exactly the defaults, and holds every key that
#    config_write() writes (so every key is there, with its default);
#  - ec2net.conf(5) documents every key of the table under its section, with its default
#    as config_write() prints it, and no key that the table does not have.
# Usage: test-config-docs.sh CONFIG-DUMP CONF CONFIG.C MANPAGE.scd
source "$(dirname "$0")/lib.sh"

dump=$1 conf=$2 config_c=$3 man=$4
make_tmp_dir

"$dump" >"$TMP_DIR/defaults" || die "config-dump failed"
run "$dump" "$conf" >"$TMP_DIR/commented" || die "$conf does not parse"
cmp -s "$TMP_DIR/defaults" "$TMP_DIR/commented" ||
        die "$conf changes the defaults: $(diff "$TMP_DIR/defaults" "$TMP_DIR/commented")"

sed -E 's/^#([A-Za-z][A-Za-z0-9]*=)/\1/' "$conf" >"$TMP_DIR/uncommented.conf"
run "$dump" "$TMP_DIR/uncommented.conf" >"$TMP_DIR/uncommented" || die "$conf uncommented does not parse"
cmp -s "$TMP_DIR/defaults" "$TMP_DIR/uncommented" ||
        die "$conf uncommented is not the defaults: $(diff "$TMP_DIR/defaults" "$TMP_DIR/uncommented")"
grep -Ev '^[[:space:]]*([#;]|$)' "$TMP_DIR/uncommented.conf" >"$TMP_DIR/file-lines"
grep -Ev '^$' "$TMP_DIR/defaults" >"$TMP_DIR/default-lines"
cmp -s "$TMP_DIR/default-lines" "$TMP_DIR/file-lines" ||
        die "$conf does not list every key with its default, in order: $(diff "$TMP_DIR/default-lines" "$TMP_DIR/file-lines")"
echo "ok: $(basename "$conf") holds every key, commented, with its default"

# The table: lines like {"IMDS", "Endpoint", parse_endpoint, ...
sed -nE 's/^[[:space:]]*\{"([A-Za-z]+)", "([A-Za-z0-9]+)", parse_.*/\1 \2/p' "$config_c" >"$TMP_DIR/table"
[[ -s "$TMP_DIR/table" ]] || die "no keys found in $config_c"

# The man page: key terms "*Key=*" alone on a line, under headings "# [SECTION] SECTION".
awk '/^# \[[A-Z]+\] SECTION$/ { s = substr($2, 2, length($2) - 2); next }
     /^# / { s = ""; next }
     s != "" && /^\*[A-Za-z0-9]+=\*$/ { print s, substr($0, 2, length($0) - 3) }' "$man" \
        >"$TMP_DIR/man-keys"
tr '[:lower:]' '[:upper:]' <"$TMP_DIR/table" | cut -d' ' -f1 >"$TMP_DIR/t-sections"
cut -d' ' -f2 "$TMP_DIR/table" | paste -d' ' "$TMP_DIR/t-sections" - | sort >"$TMP_DIR/table-keys"
sort "$TMP_DIR/man-keys" >"$TMP_DIR/man-keys.sorted"
cmp -s "$TMP_DIR/table-keys" "$TMP_DIR/man-keys.sorted" ||
        die "keys in $config_c and $(basename "$man") differ (< table, > man page): $(diff "$TMP_DIR/table-keys" "$TMP_DIR/man-keys.sorted")"

# Each key's paragraph in the man page names its default as config_write() prints it.
while read -r section key; do
        para=$(awk -v k="*$key=*" '$0 == k { on = 1; next } on && /^[^\t]/ { exit } on' "$man")
        want=$(sed -nE "s/^$key=(.+)$/\1/p" "$TMP_DIR/defaults")
        if [[ -z "$want" ]]; then
                grep -q 'Default: none' <<<"$para" || die "$key=: the man page does not say 'Default: none'"
                continue
        fi
        while read -r v; do
                tr -d '\n\t' <<<"$para" | grep -qF "*$v*" ||
                        die "$key=: the man page does not name the default '$v'"
        done <<<"$want"
        grep -q 'Default:' <<<"$para" || die "$key=: the man page gives no 'Default:'"
done <"$TMP_DIR/table"
echo "ok: $(basename "$man") documents every key of the table with its default"
