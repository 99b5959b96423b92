/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Addresses and prefixes from text in the kernel tests (after <cmocka.h>): a literal that does
 * not parse fails the test. */
#pragma once

#include <sys/socket.h>

#include "ipaddr.h"

static inline struct ipprefix prefix(const char *s)
{
	struct ipprefix p;

	assert_int_equal(ipprefix_parse(s, AF_UNSPEC, 0, &p), 0);
	return p;
}

static inline union ipaddr addr(const char *s)
{
	union ipaddr a;
	int family;

	assert_int_equal(ipaddr_parse(s, AF_UNSPEC, &family, &a), 0);
	return a;
}
