/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ec2net.conf parsing and writing (design.md §6, style.md §11). Pure: text and a file name in,
 * struct config and diagnostics out. One table, config_keys[], lists every [Section] Key=, its
 * parser, its writer and the field it fills; parsing, resetting and config_write() all walk it. */
#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "diag.h"
#include "ec2net-defs.h"
#include "macro.h"
#include "parse-util.h"

/* Ranges of design.md §6 that have no use outside this file. */
#define CONFIG_TIMEOUT_MAX_USEC (60 * USEC_PER_SEC)
#define CONFIG_REFRESH_MIN_USEC (1 * USEC_PER_SEC)
#define CONFIG_REFRESH_MAX_USEC (24 * 60 * 60 * USEC_PER_SEC)
#define CONFIG_GROUP_MAX 2147483647u /* INT32_MAX: the kernel's group is a signed int */
#define CONFIG_MTU_MIN 68u	     /* the IPv4 minimum */
#define CONFIG_MTU_MAX 65535u
#define CONFIG_PORT_MAX 65535u
/* Entries per list key, so that a hostile file cannot make appends quadratic. */
#define CONFIG_LIST_MAX 1024u
#define DNS_NAME_MAX 253u
#define DNS_LABEL_MAX 63u
#define HTTP_PREFIX "http://"
#define UTF8_BOM "\xef\xbb\xbf"

typedef int (*config_parse_fn)(const char *value, void *field);
typedef int (*config_write_fn)(FILE *f, const char *key, const void *field);

struct config_key {
	const char *section;
	const char *key;
	config_parse_fn parse; /* writes *field only on success; lists append */
	config_write_fn write;
	size_t offset;
	size_t size;
	bool is_list;	      /* char ** field: appends, an empty assignment empties it */
	const char *expected; /* the accepted values, for diagnostics */
};

/* The scalar defaults; lists are filled by config_init(). */
static const struct config config_defaults = {
	.token_ttl_sec = EC2NET_IMDS_TOKEN_TTL_SEC,
	.timeout_usec = EC2NET_IMDS_TIMEOUT_SEC * USEC_PER_SEC,
	.refresh_usec = EC2NET_REFRESH_SEC * USEC_PER_SEC,
	.primary_rules = true,
	.local_routes_first = true,
	.interface_group = EC2NET_DEFAULT_GROUP,
	.mtu = EC2NET_DEFAULT_MTU,
	.prefix_local_routes = false,
};

static const char *const config_default_endpoints[] = {
	EC2NET_IMDS_ENDPOINT_V4,
	EC2NET_IMDS_ENDPOINT_V6,
};

static size_t strv_length(char *const *l)
{
	size_t n = 0;

	while (l && l[n])
		n++;
	return n;
}

/* Appends s, taking it: on failure s is freed and the list is untouched. */
static int strv_append_take(char ***l, char *s)
{
	size_t n = strv_length(*l);
	char **m;

	if (!s)
		return -ENOMEM;
	if (n >= CONFIG_LIST_MAX) {
		free(s);
		return -E2BIG;
	}
	m = realloc(*l, (n + 2) * sizeof(char *));
	if (!m) {
		free(s);
		return -ENOMEM;
	}
	m[n] = s;
	m[n + 1] = NULL;
	*l = m;
	return 0;
}

static bool is_ascii_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool is_ascii_alnum(char ch)
{
	return is_ascii_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* A DNS name of letters, digits, '-' and '.': labels of 1..63 characters that neither start nor
 * end with '-', no trailing dot, and a last label that is not all digits (that would be a
 * mistyped IPv4 literal). */
static bool dns_name_is_valid(const char *s, size_t n)
{
	size_t label = 0;
	bool numeric = true;

	if (n == 0 || n > DNS_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			numeric = true;
			continue;
		}
		if (!is_ascii_alnum(s[i]) && s[i] != '-')
			return false;
		if (s[i] == '-' && label == 0)
			return false;
		if (!is_ascii_digit(s[i]))
			numeric = false;
		if (++label > DNS_LABEL_MAX)
			return false;
	}
	return label > 0 && s[n - 1] != '-' && !numeric;
}

/* Whether s[0..n) is an address of the family, by inet_pton on a bounded copy. */
static bool address_is_valid(int family, const char *s, size_t n)
{
	char buf[INET6_ADDRSTRLEN];
	union {
		struct in_addr in;
		struct in6_addr in6;
	} a;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = 0;
	return inet_pton(family, buf, &a) == 1;
}

static bool host_is_valid(const char *s, size_t n)
{
	bool dotted_digits = true;

	for (size_t i = 0; i < n; i++)
		if (!is_ascii_digit(s[i]) && s[i] != '.')
			dotted_digits = false;
	if (dotted_digits)
		return address_is_valid(AF_INET, s, n);
	return dns_name_is_valid(s, n);
}

static bool port_is_valid(const char *s, size_t n)
{
	char buf[sizeof("65535")];
	uint32_t port;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = 0;
	return parse_u32_range(buf, 1, CONFIG_PORT_MAX, &port) == 0;
}

/* "http://" HOST [":" PORT] ["/"], where HOST is an IPv4 literal, "[" IPv6 literal "]" or a DNS
 * name. Nothing else: no user, path, query, fragment or other scheme. Returns the length of s
 * without the trailing '/', or -EINVAL. */
static int endpoint_validate(const char *s, size_t *ret_len)
{
	const char *p, *host;
	size_t n;

	if (strncmp(s, HTTP_PREFIX, strlen(HTTP_PREFIX)) != 0)
		return -EINVAL;
	p = host = s + strlen(HTTP_PREFIX);
	if (*p == '[') {
		const char *close = strchr(p, ']');
		if (!close || !address_is_valid(AF_INET6, p + 1, (size_t)(close - p - 1)))
			return -EINVAL;
		p = close + 1;
	} else {
		n = strcspn(p, ":/");
		if (!host_is_valid(host, n))
			return -EINVAL;
		p += n;
	}
	if (*p == ':') {
		p++;
		n = strcspn(p, "/");
		if (!port_is_valid(p, n))
			return -EINVAL;
		p += n;
	}
	n = (size_t)(p - s);
	if (*p == '/')
		p++;
	if (*p != 0)
		return -EINVAL;
	*ret_len = n;
	return 0;
}

static int parse_endpoint(const char *value, void *field)
{
	size_t n;
	int r;

	r = endpoint_validate(value, &n);
	if (r < 0)
		return r;
	return strv_append_take(field, strndup(value, n));
}

/* Like the kernel's and systemd's rules for interface names, plus glob characters: 1..15
 * printable ASCII characters other than white space, '/', ':' and '%'. */
static bool ifname_glob_is_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= IFNAMSIZ)
		return false;
	for (const char *p = s; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch <= ' ' || ch >= 0x7f || ch == '/' || ch == ':' || ch == '%')
			return false;
	}
	return true;
}

static int parse_unmanaged(const char *value, void *field)
{
	char buf[MAC_STRLEN];
	uint8_t mac[6];

	if (parse_mac(value, mac) == 0)
		return strv_append_take(field, strdup(mac_format(mac, buf)));
	if (!ifname_glob_is_valid(value))
		return -EINVAL;
	return strv_append_take(field, strdup(value));
}

static int parse_token_ttl(const char *value, void *field)
{
	return parse_u32_range(value, 1, EC2NET_IMDS_TOKEN_TTL_MAX_SEC, field);
}

static int parse_timeout(const char *value, void *field)
{
	uint64_t usec;
	int r;

	r = parse_sec(value, &usec);
	if (r < 0)
		return r;
	if (usec == 0 || usec > CONFIG_TIMEOUT_MAX_USEC)
		return -ERANGE;
	*(uint64_t *)field = usec;
	return 0;
}

static int parse_refresh(const char *value, void *field)
{
	uint64_t usec;
	int r;

	r = parse_sec(value, &usec);
	if (r < 0)
		return r;
	if (usec != 0 && (usec < CONFIG_REFRESH_MIN_USEC || usec > CONFIG_REFRESH_MAX_USEC))
		return -ERANGE;
	*(uint64_t *)field = usec;
	return 0;
}

static int parse_boolean(const char *value, void *field)
{
	return parse_bool(value, field);
}

static int parse_group(const char *value, void *field)
{
	return parse_u32_range(value, 1, CONFIG_GROUP_MAX, field);
}

static int parse_mtu(const char *value, void *field)
{
	if (streq(value, "keep")) {
		*(uint32_t *)field = 0;
		return 0;
	}
	return parse_u32_range(value, CONFIG_MTU_MIN, CONFIG_MTU_MAX, field);
}

static int write_list(FILE *f, const char *key, const void *field)
{
	char **const *pl = field;
	char *const *l = *pl;

	/* The empty assignment first, so that reading this back replaces the list. */
	fprintf(f, "%s=\n", key);
	for (size_t i = 0; l && l[i]; i++)
		fprintf(f, "%s=%s\n", key, l[i]);
	return 0;
}

static int write_u32(FILE *f, const char *key, const void *field)
{
	fprintf(f, "%s=%" PRIu32 "\n", key, *(const uint32_t *)field);
	return 0;
}

/* In the form parse_sec() reads back exactly: "60", "250ms" or "0.000500". */
static int write_sec(FILE *f, const char *key, const void *field)
{
	uint64_t usec = *(const uint64_t *)field;

	if (usec % USEC_PER_SEC == 0)
		fprintf(f, "%s=%" PRIu64 "\n", key, usec / USEC_PER_SEC);
	else if (usec % USEC_PER_MSEC == 0)
		fprintf(f, "%s=%" PRIu64 "ms\n", key, usec / USEC_PER_MSEC);
	else
		fprintf(f, "%s=%" PRIu64 ".%06" PRIu64 "\n", key, usec / USEC_PER_SEC,
			usec % USEC_PER_SEC);
	return 0;
}

static int write_boolean(FILE *f, const char *key, const void *field)
{
	fprintf(f, "%s=%s\n", key, *(const bool *)field ? "yes" : "no");
	return 0;
}

static int write_mtu(FILE *f, const char *key, const void *field)
{
	if (*(const uint32_t *)field == 0) {
		fprintf(f, "%s=keep\n", key);
		return 0;
	}
	return write_u32(f, key, field);
}

#define FIELD(f) .offset = offsetof(struct config, f), .size = sizeof(((struct config *)0)->f)

/* Grouped by section, in the order config_write() prints them. */
static const struct config_key config_keys[] = {
	{"IMDS", "Endpoint", parse_endpoint, write_list, FIELD(endpoints), .is_list = true,
	 .expected = "http://HOST[:PORT][/] with an IPv4 address, [IPv6 address] or DNS name"},
	{"IMDS", "TokenTTLSec", parse_token_ttl, write_u32, FIELD(token_ttl_sec),
	 .expected = "an integer 1..21600"},
	{"IMDS", "TimeoutSec", parse_timeout, write_sec, FIELD(timeout_usec),
	 .expected = "a time span over 0 and at most 60s"},
	{"Daemon", "RefreshSec", parse_refresh, write_sec, FIELD(refresh_usec),
	 .expected = "0 (off) or a time span of 1s..86400s"},
	{"Network", "PrimaryRules", parse_boolean, write_boolean, FIELD(primary_rules),
	 .expected = "a boolean"},
	{"Network", "LocalRoutesFirst", parse_boolean, write_boolean, FIELD(local_routes_first),
	 .expected = "a boolean"},
	{"Network", "InterfaceGroup", parse_group, write_u32, FIELD(interface_group),
	 .expected = "an integer 1..2147483647"},
	{"Network", "MTU", parse_mtu, write_mtu, FIELD(mtu),
	 .expected = "'keep' or an integer 68..65535"},
	{"Network", "PrefixLocalRoutes", parse_boolean, write_boolean, FIELD(prefix_local_routes),
	 .expected = "a boolean"},
	{"Network", "Unmanaged", parse_unmanaged, write_list, FIELD(unmanaged), .is_list = true,
	 .expected = "a MAC address, or an interface name glob of 1..15 characters without "
		     "white space, '/', ':' or '%'"},
};

static void *config_field(struct config *c, const struct config_key *k)
{
	return (char *)c + k->offset;
}

static const void *config_field_const(const struct config *c, const struct config_key *k)
{
	return (const char *)c + k->offset;
}

static void config_reset_key(struct config *c, const struct config_key *k)
{
	if (k->is_list) {
		char ***l = config_field(c, k);
		strv_free(*l);
		*l = NULL;
		return;
	}
	memcpy(config_field(c, k), config_field_const(&config_defaults, k), k->size);
}

static const struct config_key *config_key_find(const char *section, const char *key)
{
	for (size_t i = 0; i < ELEMENTSOF(config_keys); i++)
		if (streq(config_keys[i].section, section) && streq(config_keys[i].key, key))
			return &config_keys[i];
	return NULL;
}

int config_init(struct config *c)
{
	struct config n = config_defaults;

	for (size_t i = 0; i < ELEMENTSOF(config_default_endpoints); i++) {
		int r = strv_append_take(&n.endpoints, strdup(config_default_endpoints[i]));
		if (r < 0) {
			config_done(&n);
			return r;
		}
	}
	*c = n;
	return 0;
}

void config_done(struct config *c)
{
	strv_free(c->endpoints);
	strv_free(c->unmanaged);
	*c = (struct config){0};
}

enum section_state {
	SECTION_NONE,	 /* before the first section header */
	SECTION_KNOWN,	 /* keys are looked up in the table */
	SECTION_INVALID, /* an unknown or bad header was reported; its keys are skipped */
};

struct parse_ctx {
	const char *filename;
	size_t line;
	struct diag_list *diags;
	enum section_state state;
	const char *section; /* from config_keys[] when SECTION_KNOWN */
	bool failed;
};

static int parse_error(struct parse_ctx *ctx, const char *fmt, ...) _printf_(2, 3);

/* Adds "filename:line" and the message. Returns -EINVAL, or -ENOMEM. */
static int parse_error(struct parse_ctx *ctx, const char *fmt, ...)
{
	_cleanup_free_ char *where = NULL, *what = NULL;
	va_list ap;
	int r;

	ctx->failed = true;
	if (asprintf(&where, "%s:%zu", ctx->filename, ctx->line) < 0) {
		where = NULL;
		return -ENOMEM;
	}
	va_start(ap, fmt);
	r = vasprintf(&what, fmt, ap);
	va_end(ap);
	if (r < 0) {
		what = NULL;
		return -ENOMEM;
	}
	return diag_add(ctx->diags, where, "%s", what);
}

static char *quote(const char *s, size_t n)
{
	return quote_value(s, n, EC2NET_QUOTE_MAX);
}

static int parse_section_header(struct parse_ctx *ctx, const char *l)
{
	size_t n = strlen(l);
	_cleanup_free_ char *q = NULL;

	ctx->state = SECTION_INVALID;
	ctx->section = NULL;
	if (n < 3 || l[n - 1] != ']') {
		q = quote(l, n);
		if (!q)
			return -ENOMEM;
		return parse_error(ctx, "invalid section header %s", q);
	}
	for (size_t i = 0; i < ELEMENTSOF(config_keys); i++)
		if (strlen(config_keys[i].section) == n - 2 &&
		    memcmp(config_keys[i].section, l + 1, n - 2) == 0) {
			ctx->state = SECTION_KNOWN;
			ctx->section = config_keys[i].section;
			return 0;
		}
	q = quote(l + 1, n - 2);
	if (!q)
		return -ENOMEM;
	return parse_error(ctx, "unknown section %s", q);
}

static int parse_assignment(struct parse_ctx *ctx, struct config *c, char *l)
{
	_cleanup_free_ char *qk = NULL, *qv = NULL;
	const struct config_key *k;
	char *eq = strchr(l, '='), *key, *value;
	int r;

	if (!eq) {
		qv = quote(l, strlen(l));
		if (!qv)
			return -ENOMEM;
		return parse_error(ctx, "missing '=' in line %s", qv);
	}
	*eq = 0;
	key = strstrip(l);
	value = strstrip(eq + 1);
	qk = quote(key, strlen(key));
	qv = quote(value, strlen(value));
	if (!qk || !qv)
		return -ENOMEM;
	if (!*key)
		return parse_error(ctx, "missing key name before '=' (value %s)", qv);

	switch (ctx->state) {
	case SECTION_NONE:
		return parse_error(ctx, "key %s outside of any section (value %s)", qk, qv);
	case SECTION_INVALID:
		return 0;
	case SECTION_KNOWN:
		break;
	}

	k = config_key_find(ctx->section, key);
	if (!k)
		return parse_error(ctx, "unknown key %s in section [%s] (value %s)", qk,
				   ctx->section, qv);
	if (!*value) {
		config_reset_key(c, k);
		return 0;
	}
	r = k->parse(value, config_field(c, k));
	if (r == -ENOMEM)
		return r;
	if (r == -E2BIG)
		return parse_error(ctx, "too many %s= entries, at most %u (value %s)", k->key,
				   CONFIG_LIST_MAX, qv);
	if (r < 0)
		return parse_error(ctx, "invalid value %s for %s= (expected %s)", qv, k->key,
				   k->expected);
	return 0;
}

static int parse_line(struct parse_ctx *ctx, struct config *c, const char *raw, size_t n)
{
	_cleanup_free_ char *buf = NULL, *q = NULL;
	char *l;

	if (n > CONFIG_LINE_MAX) {
		q = quote(raw, n);
		if (!q)
			return -ENOMEM;
		return parse_error(ctx, "line too long, %zu bytes, at most %u: %s", n,
				   CONFIG_LINE_MAX, q);
	}
	if (memchr(raw, 0, n)) {
		q = quote(raw, n);
		if (!q)
			return -ENOMEM;
		return parse_error(ctx, "NUL byte in line %s", q);
	}
	buf = strndup(raw, n);
	if (!buf)
		return -ENOMEM;
	l = strstrip(buf);
	if (*l == 0 || *l == '#' || *l == ';')
		return 0;
	if (*l == '[')
		return parse_section_header(ctx, l);
	return parse_assignment(ctx, c, l);
}

int config_parse(struct config *c, const char *text, size_t len, const char *filename,
		 struct diag_list *diags)
{
	struct parse_ctx ctx = {
		.filename = filename,
		.diags = diags,
		.state = SECTION_NONE,
	};
	size_t pos = 0;
	int r;

	if (len >= strlen(UTF8_BOM) && memcmp(text, UTF8_BOM, strlen(UTF8_BOM)) == 0)
		pos = strlen(UTF8_BOM);
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

		ctx.line++;
		r = parse_line(&ctx, c, text + pos, n);
		if (r == -ENOMEM)
			return r;
		pos += n + 1;
	}
	return ctx.failed ? -EINVAL : 0;
}

int config_write(const struct config *c, FILE *f)
{
	const char *section = NULL;

	for (size_t i = 0; i < ELEMENTSOF(config_keys); i++) {
		const struct config_key *k = &config_keys[i];

		if (!section || !streq(section, k->section)) {
			fprintf(f, "%s[%s]\n", section ? "\n" : "", k->section);
			section = k->section;
		}
		(void)k->write(f, k->key, config_field_const(c, k));
	}
	if (fflush(f) != 0 || ferror(f))
		return -EIO;
	return 0;
}

bool config_is_unmanaged(const struct config *c, const char *ifname, const uint8_t mac[6])
{
	for (size_t i = 0; c->unmanaged && c->unmanaged[i]; i++) {
		const char *u = c->unmanaged[i];
		uint8_t m[6];

		if (parse_mac(u, m) == 0) {
			if (mac && memcmp(m, mac, sizeof(m)) == 0)
				return true;
		} else if (ifname && fnmatch(u, ifname, 0) == 0)
			return true;
	}
	return false;
}
