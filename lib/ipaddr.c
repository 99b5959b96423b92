/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Address and prefix values. Parsing goes through inet_pton; nothing here compares strings. */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ipaddr.h"
#include "parse-util.h"

size_t ipaddr_size(int family)
{
	return family == AF_INET6 ? 16 : family == AF_INET ? 4 : 0;
}

unsigned ipaddr_bits(int family)
{
	return (unsigned)ipaddr_size(family) * 8;
}

int ipaddr_parse(const char *s, int family, int *ret_family, union ipaddr *ret)
{
	union ipaddr a = {0};

	if (!s)
		return -EINVAL;
	if ((family == AF_INET || family == AF_UNSPEC) && inet_pton(AF_INET, s, &a.in) == 1) {
		family = AF_INET;
	} else if ((family == AF_INET6 || family == AF_UNSPEC) && inet_pton(AF_INET6, s, &a.in6) == 1) {
		family = AF_INET6;
	} else
		return -EINVAL;
	if (ret_family)
		*ret_family = family;
	if (ret)
		*ret = a;
	return 0;
}

int ipprefix_parse(const char *s, int family, unsigned flags, struct ipprefix *ret)
{
	char buf[INET6_ADDRSTRLEN];
	struct ipprefix p = {0};
	const char *slash;
	uint32_t len;
	int r;

	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	if (!slash) {
		if (!(flags & IPPREFIX_BARE))
			return -EINVAL;
		r = ipaddr_parse(s, family, &p.family, &p.addr);
		if (r < 0)
			return r;
		p.len = (uint8_t)ipaddr_bits(p.family);
		*ret = p;
		return 0;
	}
	if ((size_t)(slash - s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = 0;
	r = ipaddr_parse(buf, family, &p.family, &p.addr);
	if (r < 0)
		return r;
	r = parse_u32(slash + 1, &len);
	if (r < 0)
		return r;
	if (len > ipaddr_bits(p.family))
		return -ERANGE;
	p.len = (uint8_t)len;
	if ((flags & IPPREFIX_CANONICAL) && !ipprefix_is_canonical(&p))
		return -EINVAL;
	*ret = p;
	return 0;
}

struct ipprefix ipprefix_host(int family, const union ipaddr *a)
{
	return (struct ipprefix){
		.family = family,
		.len = (uint8_t)ipaddr_bits(family),
		.addr = *a,
	};
}

struct ipprefix ipprefix_base(const struct ipprefix *p)
{
	struct ipprefix b = *p;
	size_t size = ipaddr_size(p->family);

	for (size_t i = 0; i < size; i++) {
		unsigned bit = (unsigned)i * 8;
		if (bit >= p->len)
			b.addr.bytes[i] = 0;
		else if (bit + 8 > p->len)
			b.addr.bytes[i] &= (uint8_t)(0xffu << (8 - (p->len - bit)));
	}
	return b;
}

bool ipprefix_is_canonical(const struct ipprefix *p)
{
	struct ipprefix b = ipprefix_base(p);

	return ipaddr_cmp(p->family, &b.addr, &p->addr) == 0;
}

bool ipprefix_contains(const struct ipprefix *p, int family, const union ipaddr *a)
{
	if (family != p->family)
		return false;
	struct ipprefix x = ipprefix_base(&(struct ipprefix){.family = family, .len = p->len, .addr = *a});
	struct ipprefix b = ipprefix_base(p);
	return ipaddr_cmp(family, &x.addr, &b.addr) == 0;
}

int ipprefix_nth(const struct ipprefix *p, uint32_t n, union ipaddr *ret)
{
	if (p->family != AF_INET)
		return -EAFNOSUPPORT;
	struct ipprefix b = ipprefix_base(p);
	uint64_t size = UINT64_C(1) << (32 - p->len);
	if (n >= size)
		return -ERANGE;
	uint32_t base = ntohl(b.addr.in.s_addr);
	*ret = (union ipaddr){0};
	ret->in.s_addr = htonl(base + n);
	return 0;
}

int ipaddr_cmp(int family, const union ipaddr *a, const union ipaddr *b)
{
	return memcmp(a->bytes, b->bytes, ipaddr_size(family));
}

bool ipaddr_is_null(int family, const union ipaddr *a)
{
	static const union ipaddr null;
	return ipaddr_cmp(family, a, &null) == 0;
}

int ipprefix_cmp(const struct ipprefix *a, const struct ipprefix *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	int r = ipaddr_cmp(a->family, &a->addr, &b->addr);
	if (r != 0)
		return r;
	return (a->len > b->len) - (a->len < b->len);
}

bool ipprefix_equal(const struct ipprefix *a, const struct ipprefix *b)
{
	return ipprefix_cmp(a, b) == 0;
}

const char *ipaddr_format(int family, const union ipaddr *a, char *buf)
{
	if (!inet_ntop(family, a, buf, INET6_ADDRSTRLEN))
		strcpy(buf, "?");
	return buf;
}

const char *ipprefix_format(const struct ipprefix *p, char *buf)
{
	char a[INET6_ADDRSTRLEN];

	if (p->family == 0) {
		strcpy(buf, "none");
		return buf;
	}
	snprintf(buf, IPPREFIX_STRLEN, "%s/%u", ipaddr_format(p->family, &p->addr, a), p->len);
	return buf;
}

const char *ipprefix_format_short(const struct ipprefix *p, char *buf)
{
	if (p->family != 0 && p->len == ipaddr_bits(p->family))
		return ipaddr_format(p->family, &p->addr, buf);
	return ipprefix_format(p, buf);
}
