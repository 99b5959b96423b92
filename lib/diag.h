/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Diagnostics: what went wrong with outside input, and where (file:line, or MAC and IMDS key).
 * Parsers add to a list; the caller decides whether to print, log or refuse. */
#pragma once

#include <stddef.h>

#include "macro.h"

struct diag {
	char *where; /* "ec2net.conf:12", "0a:07:84:3d:6e:38 local-ipv4s" */
	char *what;  /* "invalid IPv4 address '10.0.0.300'" */
};

struct diag_list {
	struct diag *items;
	size_t n, cap;
};

/* Appends one diagnostic. Returns -EINVAL (the usual verdict on bad input), or -ENOMEM. */
int diag_add(struct diag_list *l, const char *where, const char *fmt, ...) _printf_(3, 4);
void diag_list_done(struct diag_list *l);
