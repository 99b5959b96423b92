#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# "meson install --destdir" puts exactly the expected files in place, no more, no fewer, and
# the symlinks point where they should.
# Usage: test-install.sh BUILD_DIR DAEMON_PATH ENTRY...
#   DAEMON_PATH: where ec2netd goes; expected only once the build has daemon/ec2netd.
#   ENTRY: "f:PATH" a file, or "l:PATH:TARGET" a symlink, PATH absolute.
source "$(dirname "$0")/lib.sh"

build=$1 daemon=$2
shift 2
need_cmd meson
make_tmp_dir
dest=$TMP_DIR/dest

expected=("$@")
if [[ -x "$build/daemon/ec2netd" ]]; then
        expected+=("f:$daemon")
else
        echo "note: the build has no daemon/ec2netd yet; $daemon is not expected"
fi

run meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >"$TMP_DIR/install.log" 2>&1 ||
        die "meson install failed: $(cat "$TMP_DIR/install.log")"

(cd "$dest" && find . \( -type f -o -type l \) -printf '/%P\n') | sort >"$TMP_DIR/installed"
printf '%s\n' "${expected[@]}" | cut -d: -f2 | sort >"$TMP_DIR/expected"
echo "installed:"
sed 's/^/  /' "$TMP_DIR/installed"
cmp -s "$TMP_DIR/expected" "$TMP_DIR/installed" ||
        die "installed files differ (< expected, > installed): $(diff "$TMP_DIR/expected" "$TMP_DIR/installed")"

for e in "${expected[@]}"; do
        IFS=: read -r kind path target <<<"$e"
        case $kind in
        f) [[ -f "$dest$path" && ! -L "$dest$path" ]] || die "$path is not a regular file" ;;
        l)
                [[ -L "$dest$path" ]] || die "$path is not a symlink"
                [[ $(readlink "$dest$path") == "$target" ]] ||
                        die "$path points to $(readlink "$dest$path"), not $target"
                ;;
        *) die "bad entry $e" ;;
        esac
done
[[ -x "$dest${expected[0]#f:}" ]] || die "${expected[0]#f:} is not executable"
echo "ok: ${#expected[@]} files installed as expected"
