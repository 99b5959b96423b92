/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IPv4/IPv6 addresses and prefixes as plain values: parse, compare, format, prefix arithmetic. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

union ipaddr {
	struct in_addr in;
	struct in6_addr in6;
	uint8_t bytes[16];
};

/* An address with a prefix length. family is AF_INET or AF_INET6; 0 means "none". */
struct ipprefix {
	int family;
	uint8_t len;
	union ipaddr addr;
};

/* Long enough for "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128". */
#define IPPREFIX_STRLEN (INET6_ADDRSTRLEN + 4)

size_t ipaddr_size(int family);
unsigned ipaddr_bits(int family);

/* Parses an address of the given family (or AF_UNSPEC: either) with inet_pton.
 * Returns 0, or -EINVAL. */
int ipaddr_parse(const char *s, int family, int *ret_family, union ipaddr *ret);

/* Parses "addr/len" (len mandatory) or, when allow_bare, a bare address (full length).
 * With IPPREFIX_CANONICAL the host bits must be zero. Returns 0, -EINVAL or -ERANGE. */
#define IPPREFIX_BARE 1u
#define IPPREFIX_CANONICAL 2u
int ipprefix_parse(const char *s, int family, unsigned flags, struct ipprefix *ret);

/* A host prefix (/32 or /128) for an address. */
struct ipprefix ipprefix_host(int family, const union ipaddr *a);

/* The prefix with host bits cleared. */
struct ipprefix ipprefix_base(const struct ipprefix *p);
bool ipprefix_is_canonical(const struct ipprefix *p);
bool ipprefix_contains(const struct ipprefix *p, int family, const union ipaddr *a);
/* The address base + n (IPv4 only; used for the subnet gateway). Returns -ERANGE past the end. */
int ipprefix_nth(const struct ipprefix *p, uint32_t n, union ipaddr *ret);

int ipaddr_cmp(int family, const union ipaddr *a, const union ipaddr *b);
bool ipaddr_is_null(int family, const union ipaddr *a);
/* Orders by family, then address, then length. */
int ipprefix_cmp(const struct ipprefix *a, const struct ipprefix *b);
bool ipprefix_equal(const struct ipprefix *a, const struct ipprefix *b);

/* Format into buf (at least INET6_ADDRSTRLEN / IPPREFIX_STRLEN bytes); returns buf. */
const char *ipaddr_format(int family, const union ipaddr *a, char *buf);
const char *ipprefix_format(const struct ipprefix *p, char *buf);
/* "a.b.c.d" for host prefixes, "a.b.c.d/len" otherwise. */
const char *ipprefix_format_short(const struct ipprefix *p, char *buf);
