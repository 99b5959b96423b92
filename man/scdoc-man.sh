#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Usage: scdoc-man.sh SCDOC INPUT OUTPUT
#
# Runs scdoc and removes the empty paragraph macros that scdoc 1.11 emits around
# every heading and indented block (".P" before ".SH" or ".RE", after ".TH" or
# ".SH"). Formatters skip them anyway, but "mandoc -T lint" reports each one,
# and the man pages are checked for zero warnings. A ".P" just before ".RE" is
# moved after it, where groff would have put the space.
set -eu
scdoc=$1 input=$2 output=$3

"$scdoc" <"$input" | awk '
{ line[NR] = $0 }
END {
	n = NR
	for (i = 1; i <= n; i++)
		if (line[i] == ".P")
			for (j = i; j + 1 <= n && line[j + 1] == ".RE"; j++) {
				line[j] = ".RE"
				line[j + 1] = ".P"
			}
	prev = ""
	for (i = 1; i <= n; i++) {
		if (line[i] == ".P") {
			next_line = i < n ? line[i + 1] : ""
			if (i == n || prev ~ /^\.(TH|SH|SS|P)( |$)/ || next_line ~ /^\.(SH|SS|P|RE)( |$)/)
				continue
		}
		print line[i]
		if (line[i] !~ /^\.\\"/)
			prev = line[i]
	}
}' >"$output.tmp"
mv "$output.tmp" "$output"
