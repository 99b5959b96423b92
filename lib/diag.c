/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "diag.h"

int diag_add(struct diag_list *l, const char *where, const char *fmt, ...)
{
	struct diag d = {0};
	va_list ap;
	int r;

	d.where = strdup(where ? where : "");
	va_start(ap, fmt);
	r = vasprintf(&d.what, fmt, ap);
	va_end(ap);
	if (!d.where || r < 0) {
		free(d.where);
		return -ENOMEM;
	}
	if (ARRAY_APPEND(l->items, l->n, l->cap, d) < 0) {
		free(d.where);
		free(d.what);
		return -ENOMEM;
	}
	return -EINVAL;
}

void diag_list_done(struct diag_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].where);
		free(l->items[i].what);
	}
	free(l->items);
	*l = (struct diag_list){0};
}
