/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One growable-array helper with overflow checks; every array in ec2net grows through it. */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Makes room for at least 'need' elements of 'size' bytes in *p, whose capacity is *cap.
 * Grows geometrically. Returns 0 or -ENOMEM (also on size overflow); *p is untouched on error. */
static inline int array_reserve(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap < 4 ? 4 : *cap;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return -ENOMEM;
		n *= 2;
	}
	if (size != 0 && n > SIZE_MAX / size)
		return -ENOMEM;
	void *q = realloc(*p, n * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

/* Appends one element (by value) to an array 'items' of count 'n' and capacity 'cap'.
 * Evaluates to 0 or -ENOMEM. */
#define ARRAY_APPEND(items, n, cap, value)                                                         \
	__extension__({                                                                            \
		int _r_ = array_reserve((void **)&(items), &(cap), (n) + 1, sizeof(*(items)));     \
		if (_r_ == 0)                                                                      \
			(items)[(n)++] = (value);                                                  \
		_r_;                                                                               \
	})
