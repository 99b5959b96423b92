/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pure parsers of IMDS bodies into the metadata model, and its JSON rendering. Every value is
 * checked with the C library's address parsers and strict number parsers; a bad value marks its
 * ENI invalid with a message naming the MAC, the key and the value. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "array.h"
#include "macro.h"
#include "ec2net-defs.h"
#include "metadata.h"
#include "numbering.h"
#include "parse-util.h"

/* More entries than any instance type allows (64 IPv4 per ENI today); beyond it a body is
 * refused rather than turned into thousands of rules. */
#define MD_LIST_MAX 256
#define MD_LISTING_MAX 4096

static const char *const md_key_names[_MD_KEY_MAX] = {
	[MD_KEY_DEVICE_NUMBER] = "device-number",
	[MD_KEY_NETWORK_CARD] = "network-card",
	[MD_KEY_INTERFACE_ID] = "interface-id",
	[MD_KEY_LOCAL_IPV4S] = "local-ipv4s",
	[MD_KEY_SUBNET_IPV4_CIDR_BLOCK] = "subnet-ipv4-cidr-block",
	[MD_KEY_VPC_IPV4_CIDR_BLOCKS] = "vpc-ipv4-cidr-blocks",
	[MD_KEY_IPV6S] = "ipv6s",
	[MD_KEY_SUBNET_IPV6_CIDR_BLOCKS] = "subnet-ipv6-cidr-blocks",
	[MD_KEY_IPV4_PREFIX] = "ipv4-prefix",
	[MD_KEY_IPV6_PREFIX] = "ipv6-prefix",
	[MD_KEY_PUBLIC_IPV4S] = "public-ipv4s",
};

const char *md_key_to_string(enum md_key k)
{
	if (k < 0 || k >= _MD_KEY_MAX)
		return NULL;
	return md_key_names[k];
}

enum md_key md_key_from_string(const char *s)
{
	for (int k = 0; k < _MD_KEY_MAX; k++)
		if (streq_ptr(s, md_key_names[k]))
			return (enum md_key)k;
	return _MD_KEY_INVALID;
}

void md_eni_init(struct md_eni *e, const uint8_t mac[6])
{
	*e = (struct md_eni){0};
	memcpy(e->mac, mac, 6);
}

static void md_list_done(struct md_list *l)
{
	free(l->items);
	*l = (struct md_list){0};
}

void md_eni_done(struct md_eni *e)
{
	md_list_done(&e->ipv4s);
	md_list_done(&e->subnet_ipv4);
	md_list_done(&e->vpc_ipv4s);
	md_list_done(&e->ipv6s);
	md_list_done(&e->subnet_ipv6s);
	md_list_done(&e->ipv4_prefixes);
	md_list_done(&e->ipv6_prefixes);
	md_list_done(&e->public_ipv4s);
	free(e->eips);
	free(e->error);
	*e = (struct md_eni){0};
}

void md_instance_done(struct md_instance *m)
{
	for (size_t i = 0; i < m->n_enis; i++)
		md_eni_done(&m->enis[i]);
	free(m->enis);
	*m = (struct md_instance){0};
}

int md_instance_add_take(struct md_instance *m, struct md_eni *e)
{
	int r = ARRAY_APPEND(m->enis, m->n_enis, m->cap_enis, *e);
	if (r < 0)
		return r;
	*e = (struct md_eni){0};
	return 0;
}

void md_eni_set_error(struct md_eni *e, const char *fmt, ...)
{
	char mac[MAC_STRLEN];
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	int r;

	if (e->error)
		return;
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0 || asprintf(&e->error, "%s %s", mac_format(e->mac, mac), msg) < 0)
		e->error = strdup("invalid metadata (out of memory while describing it)");
}

static void set_value_error(struct md_eni *e, enum md_key key, const char *what, const char *value,
			    size_t len)
{
	_cleanup_free_ char *q = quote_value(value, len, EC2NET_QUOTE_MAX);
	md_eni_set_error(e, "%s: %s %s", md_key_to_string(key), what, q ? q : "'?'");
}

/* Splits a body into trimmed, non-empty lines and hands each to 'item'. Rejects NUL bytes. */
typedef int (*md_line_fn)(const char *line, void *userdata);

static int for_each_line(const char *body, size_t len, md_line_fn item, void *userdata,
			 const char **ret_bad, size_t *ret_bad_len)
{
	const char *p = body, *end = body + len;

	if (memchr(body, 0, len)) {
		*ret_bad = body;
		*ret_bad_len = len;
		return -EBADMSG;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		const char *s = p;
		char buf[256];
		int r;

		while (s < e && (*s == ' ' || *s == '\t' || *s == '\r'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		if (e > s) {
			if ((size_t)(e - s) >= sizeof(buf)) {
				*ret_bad = s;
				*ret_bad_len = (size_t)(e - s);
				return -EINVAL;
			}
			memcpy(buf, s, (size_t)(e - s));
			buf[e - s] = 0;
			r = item(buf, userdata);
			if (r < 0) {
				*ret_bad = s;
				*ret_bad_len = (size_t)(e - s);
				return r;
			}
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

struct list_ctx {
	struct md_list *list;
	int family;
	bool prefix; /* CIDRs (canonical) rather than bare addresses */
};

static int list_item(const char *line, void *userdata)
{
	struct list_ctx *c = userdata;
	struct ipprefix p;
	int r;

	if (c->prefix)
		r = ipprefix_parse(line, c->family, IPPREFIX_CANONICAL, &p);
	else
		r = ipprefix_parse(line, c->family, IPPREFIX_BARE, &p);
	if (r < 0 || (!c->prefix && strchr(line, '/')))
		return -EINVAL;
	for (size_t i = 0; i < c->list->n; i++)
		if (ipprefix_equal(&c->list->items[i], &p))
			return -EEXIST;
	if (c->list->n >= MD_LIST_MAX)
		return -E2BIG;
	return ARRAY_APPEND(c->list->items, c->list->n, c->list->cap, p);
}

static int parse_list(struct md_eni *e, enum md_key key, struct md_list *list, int family,
		      bool prefix, const char *body, size_t len)
{
	struct md_list tmp = {.status = MD_KNOWN};
	struct list_ctx c = {.list = &tmp, .family = family, .prefix = prefix};
	const char *bad = body;
	size_t bad_len = len;
	int r;

	r = for_each_line(body, len, list_item, &c, &bad, &bad_len);
	if (r < 0) {
		const char *fam = family == AF_INET ? "IPv4" : "IPv6";
		char what[64];
		md_list_done(&tmp);
		if (r == -ENOMEM)
			return r;
		if (r == -EBADMSG)
			snprintf(what, sizeof(what), "NUL byte in body");
		else if (r == -EEXIST)
			snprintf(what, sizeof(what), "duplicate entry");
		else if (r == -E2BIG)
			snprintf(what, sizeof(what), "more than %d entries", MD_LIST_MAX);
		else
			snprintf(what, sizeof(what), "invalid %s %s", fam,
				 prefix ? "CIDR block" : "address");
		set_value_error(e, key, what, bad, bad_len);
		return -EINVAL;
	}
	md_list_done(list);
	*list = tmp;
	return 0;
}

/* A single-line value: trimmed, exactly one non-empty line. */
static int single_line(const char *body, size_t len, char *buf, size_t size)
{
	const char *s = body, *e = body + len;

	if (memchr(body, 0, len))
		return -EBADMSG;
	while (s < e && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		e--;
	if (e == s || memchr(s, '\n', (size_t)(e - s)) || (size_t)(e - s) >= size)
		return -EINVAL;
	memcpy(buf, s, (size_t)(e - s));
	buf[e - s] = 0;
	return 0;
}

static int parse_number(struct md_eni *e, enum md_key key, uint32_t max, const char *body,
			size_t len, uint32_t *ret)
{
	char buf[32];

	if (single_line(body, len, buf, sizeof(buf)) < 0 || parse_u32(buf, ret) < 0) {
		set_value_error(e, key, "invalid number", body, len);
		return -EINVAL;
	}
	if (*ret > max) {
		char what[64];
		snprintf(what, sizeof(what), "out of range (0-%u)", max);
		set_value_error(e, key, what, body, len);
		return -EINVAL;
	}
	return 0;
}

struct md_list *md_eni_list(struct md_eni *e, enum md_key key)
{
	switch (key) {
	case MD_KEY_LOCAL_IPV4S:
		return &e->ipv4s;
	case MD_KEY_SUBNET_IPV4_CIDR_BLOCK:
		return &e->subnet_ipv4;
	case MD_KEY_VPC_IPV4_CIDR_BLOCKS:
		return &e->vpc_ipv4s;
	case MD_KEY_IPV6S:
		return &e->ipv6s;
	case MD_KEY_SUBNET_IPV6_CIDR_BLOCKS:
		return &e->subnet_ipv6s;
	case MD_KEY_IPV4_PREFIX:
		return &e->ipv4_prefixes;
	case MD_KEY_IPV6_PREFIX:
		return &e->ipv6_prefixes;
	case MD_KEY_PUBLIC_IPV4S:
		return &e->public_ipv4s;
	case MD_KEY_DEVICE_NUMBER:
	case MD_KEY_NETWORK_CARD:
	case MD_KEY_INTERFACE_ID:
	case _MD_KEY_MAX:
	case _MD_KEY_INVALID:
		break;
	}
	return NULL;
}

static int list_family(enum md_key key)
{
	return key == MD_KEY_IPV6S || key == MD_KEY_SUBNET_IPV6_CIDR_BLOCKS ||
			       key == MD_KEY_IPV6_PREFIX
		       ? AF_INET6
		       : AF_INET;
}

static bool list_is_prefixes(enum md_key key)
{
	return key == MD_KEY_SUBNET_IPV4_CIDR_BLOCK || key == MD_KEY_VPC_IPV4_CIDR_BLOCKS ||
	       key == MD_KEY_SUBNET_IPV6_CIDR_BLOCKS || key == MD_KEY_IPV4_PREFIX ||
	       key == MD_KEY_IPV6_PREFIX;
}

enum md_status *md_eni_status(struct md_eni *e, enum md_key key)
{
	switch (key) {
	case MD_KEY_DEVICE_NUMBER:
		return &e->device_number_status;
	case MD_KEY_NETWORK_CARD:
		return &e->network_card_status;
	case MD_KEY_INTERFACE_ID:
		return &e->interface_id_status;
	default: {
		struct md_list *l = md_eni_list(e, key);

		return l ? &l->status : NULL;
	}
	}
}

int md_eni_set_key(struct md_eni *e, enum md_key key, enum md_status status, const char *body,
		   size_t len)
{
	char buf[64];
	int r;

	if (key < 0 || key >= _MD_KEY_MAX)
		return -EINVAL;
	if (status != MD_KNOWN) {
		struct md_list *l = md_eni_list(e, key);
		if (l)
			md_list_done(l);
		*md_eni_status(e, key) = status;
		return 0;
	}
	if (!body)
		return -EINVAL;

	switch (key) {
	case MD_KEY_DEVICE_NUMBER:
		r = parse_number(e, key, EC2NET_DEVICE_MAX, body, len, &e->device_number);
		break;
	case MD_KEY_NETWORK_CARD:
		r = parse_number(e, key, EC2NET_CARD_MAX, body, len, &e->network_card);
		break;
	case MD_KEY_INTERFACE_ID:
		r = single_line(body, len, buf, sizeof(buf));
		if (r < 0 || !eni_id_is_valid(buf)) {
			set_value_error(e, key, "invalid ENI id", body, len);
			r = -EINVAL;
			break;
		}
		strcpy(e->interface_id, buf);
		break;
	case MD_KEY_SUBNET_IPV4_CIDR_BLOCK:
		r = parse_list(e, key, &e->subnet_ipv4, AF_INET, true, body, len);
		if (r == 0 && e->subnet_ipv4.n != 1) {
			set_value_error(e, key, "expected exactly one CIDR block", body, len);
			md_list_done(&e->subnet_ipv4);
			r = -EINVAL;
		}
		break;
	default:
		r = parse_list(e, key, md_eni_list(e, key), list_family(key), list_is_prefixes(key),
			       body, len);
		break;
	}
	if (r < 0)
		return r;
	*md_eni_status(e, key) = MD_KNOWN;
	return 0;
}

int md_eni_set_association(struct md_eni *e, const char *public_ip, enum md_status status,
			   const char *body, size_t len)
{
	struct md_eip eip = {.public_ip = {0}, .private_ip = {0}};
	char buf[INET_ADDRSTRLEN];

	if (inet_pton(AF_INET, public_ip, &eip.public_ip) != 1) {
		_cleanup_free_ char *q = quote_value(public_ip, strlen(public_ip), EC2NET_QUOTE_MAX);
		md_eni_set_error(e, "ipv4-associations: invalid public IPv4 address %s", q ? q : "");
		return -EINVAL;
	}
	if (status != MD_KNOWN) {
		if (status == MD_UNKNOWN)
			e->eips_status = MD_UNKNOWN;
		return 0;
	}
	if (single_line(body, len, buf, sizeof(buf)) < 0 ||
	    inet_pton(AF_INET, buf, &eip.private_ip) != 1) {
		_cleanup_free_ char *q = quote_value(body, len, EC2NET_QUOTE_MAX);
		md_eni_set_error(e, "ipv4-associations/%s: invalid IPv4 address %s", public_ip,
				 q ? q : "");
		return -EINVAL;
	}
	if (e->n_eips >= MD_LIST_MAX) {
		md_eni_set_error(e, "ipv4-associations: more than %d entries", MD_LIST_MAX);
		return -EINVAL;
	}
	return ARRAY_APPEND(e->eips, e->n_eips, e->cap_eips, eip);
}

uint32_t md_eni_card(const struct md_eni *e)
{
	return e->network_card_status == MD_KNOWN ? e->network_card : 0;
}

void md_eni_finish(struct md_eni *e)
{
	char a[INET6_ADDRSTRLEN], p[IPPREFIX_STRLEN];

	for (int k = 0; k < _MD_KEY_MAX; k++)
		if (*md_eni_status(e, (enum md_key)k) == MD_UNKNOWN && !e->error)
			e->incomplete = true;
	if (e->device_number_status == MD_ABSENT)
		md_eni_set_error(e, "device-number: missing");
	if (e->interface_id_status == MD_ABSENT)
		md_eni_set_error(e, "interface-id: missing");
	if (e->ipv4s.status == MD_KNOWN && e->ipv4s.n > 0) {
		if (e->subnet_ipv4.status == MD_ABSENT)
			md_eni_set_error(e, "subnet-ipv4-cidr-block: missing while local-ipv4s "
					    "lists addresses");
		else if (e->subnet_ipv4.status == MD_KNOWN &&
			 !ipprefix_contains(&e->subnet_ipv4.items[0], AF_INET,
					    &e->ipv4s.items[0].addr))
			md_eni_set_error(e, "local-ipv4s: primary address '%s' is outside "
					    "subnet-ipv4-cidr-block '%s'",
					 ipaddr_format(AF_INET, &e->ipv4s.items[0].addr, a),
					 ipprefix_format(&e->subnet_ipv4.items[0], p));
		else if (e->subnet_ipv4.status == MD_KNOWN && e->subnet_ipv4.items[0].len > 30)
			md_eni_set_error(e, "subnet-ipv4-cidr-block: '%s' leaves no room for a "
					    "gateway",
					 ipprefix_format(&e->subnet_ipv4.items[0], p));
	}
	if (e->ipv6s.status == MD_KNOWN && e->ipv6s.n > 0 && e->subnet_ipv6s.status == MD_ABSENT)
		md_eni_set_error(e, "subnet-ipv6-cidr-blocks: missing while ipv6s lists addresses");
	if (e->error)
		e->incomplete = false;
}

bool md_eni_is_usable(const struct md_eni *e)
{
	return !e->error && !e->incomplete && e->device_number_status == MD_KNOWN &&
	       e->interface_id_status == MD_KNOWN;
}

int md_parse_listing(const char *body, size_t len, char ***ret)
{
	_cleanup_strv_free_ char **l = NULL;
	size_t n = 0, cap = 0;
	const char *p = body, *end = body + len;
	int r;

	if (memchr(body, 0, len))
		return -EBADMSG;
	r = ARRAY_APPEND(l, n, cap, (char *)NULL);
	if (r < 0)
		return r;
	n = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		const char *s = p;
		char *item;

		p = nl ? nl + 1 : end;
		while (s < e && (*s == ' ' || *s == '\t' || *s == '\r'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		if (e > s && e[-1] == '/')
			e--;
		/* "name /" is "name": the entry is trimmed after its '/' too. */
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		if (e == s)
			continue;
		if (memchr(s, '/', (size_t)(e - s)) || (e - s == 1 && s[0] == '.') ||
		    (e - s == 2 && s[0] == '.' && s[1] == '.') || e - s > 255)
			return -EINVAL;
		if (n + 1 >= MD_LISTING_MAX)
			return -E2BIG;
		item = strndup(s, (size_t)(e - s));
		if (!item)
			return -ENOMEM;
		r = array_reserve((void **)&l, &cap, n + 2, sizeof(*l));
		if (r < 0) {
			free(item);
			return r;
		}
		l[n++] = item;
		l[n] = NULL;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

int md_parse_mac(const char *body, size_t len, uint8_t ret[6])
{
	char buf[32];

	if (single_line(body, len, buf, sizeof(buf)) < 0)
		return -EINVAL;
	return parse_mac(buf, ret);
}

static int eni_order(const void *x, const void *y)
{
	const struct md_eni *a = x, *b = y;
	uint32_t ca = md_eni_card(a), cb = md_eni_card(b);

	if (ca != cb)
		return ca < cb ? -1 : 1;
	if (a->device_number != b->device_number)
		return a->device_number < b->device_number ? -1 : 1;
	return memcmp(a->mac, b->mac, 6);
}

void md_instance_sort(struct md_instance *m)
{
	if (m->n_enis > 1)
		qsort(m->enis, m->n_enis, sizeof(*m->enis), eni_order);
}

const struct md_eni *md_instance_find(const struct md_instance *m, const uint8_t mac[6])
{
	for (size_t i = 0; i < m->n_enis; i++)
		if (memcmp(m->enis[i].mac, mac, 6) == 0)
			return &m->enis[i];
	return NULL;
}

/* ---- JSON ---- */

static struct json_object *list_to_json(const struct md_list *l, bool short_form)
{
	struct json_object *a;
	char buf[IPPREFIX_STRLEN];

	if (l->status == MD_UNKNOWN)
		return NULL; /* json null: not known */
	a = json_object_new_array();
	for (size_t i = 0; a && i < l->n; i++) {
		const char *s = short_form ? ipprefix_format_short(&l->items[i], buf)
					   : ipprefix_format(&l->items[i], buf);
		json_object_array_add(a, json_object_new_string(s));
	}
	return a;
}

struct json_object *md_eni_to_json(const struct md_eni *e)
{
	struct json_object *o = json_object_new_object();
	char mac[MAC_STRLEN], a[INET_ADDRSTRLEN];

	if (!o)
		return NULL;
	json_object_object_add(o, "mac", json_object_new_string(mac_format(e->mac, mac)));
	json_object_object_add(o, "primary", json_object_new_boolean(e->is_primary));
	json_object_object_add(o, "status",
			       json_object_new_string(e->error	     ? "invalid"
						      : e->incomplete ? "incomplete"
								      : "valid"));
	json_object_object_add(o, "interface-id",
			       e->interface_id_status == MD_KNOWN
				       ? json_object_new_string(e->interface_id)
				       : NULL);
	json_object_object_add(o, "device-number",
			       e->device_number_status == MD_KNOWN
				       ? json_object_new_int64(e->device_number)
				       : NULL);
	json_object_object_add(o, "network-card",
			       e->network_card_status == MD_UNKNOWN
				       ? NULL
				       : json_object_new_int64(md_eni_card(e)));
	if (md_eni_is_usable(e))
		json_object_object_add(
			o, "table",
			json_object_new_int64(numbering_table(md_eni_card(e), e->device_number)));
	json_object_object_add(o, "local-ipv4s", list_to_json(&e->ipv4s, true));
	json_object_object_add(o, "subnet-ipv4-cidr-block",
			       e->subnet_ipv4.status == MD_KNOWN && e->subnet_ipv4.n == 1
				       ? json_object_new_string(
						 ipprefix_format(&e->subnet_ipv4.items[0],
								 (char[IPPREFIX_STRLEN]){0}))
				       : NULL);
	json_object_object_add(o, "vpc-ipv4-cidr-blocks", list_to_json(&e->vpc_ipv4s, false));
	json_object_object_add(o, "ipv6s", list_to_json(&e->ipv6s, true));
	json_object_object_add(o, "subnet-ipv6-cidr-blocks", list_to_json(&e->subnet_ipv6s, false));
	json_object_object_add(o, "ipv4-prefixes", list_to_json(&e->ipv4_prefixes, false));
	json_object_object_add(o, "ipv6-prefixes", list_to_json(&e->ipv6_prefixes, false));
	json_object_object_add(o, "public-ipv4s", list_to_json(&e->public_ipv4s, true));
	if (e->eips_status == MD_UNKNOWN)
		json_object_object_add(o, "elastic-ips", NULL);
	else {
		struct json_object *eips = json_object_new_array();
		for (size_t i = 0; eips && i < e->n_eips; i++) {
			struct json_object *x = json_object_new_object();
			json_object_object_add(x, "public",
					       json_object_new_string(inet_ntop(
						       AF_INET, &e->eips[i].public_ip, a, sizeof(a))));
			json_object_object_add(x, "private",
					       json_object_new_string(inet_ntop(
						       AF_INET, &e->eips[i].private_ip, a, sizeof(a))));
			json_object_array_add(eips, x);
		}
		json_object_object_add(o, "elastic-ips", eips);
	}
	if (e->error)
		json_object_object_add(o, "error", json_object_new_string(e->error));
	return o;
}

struct json_object *md_instance_to_json(const struct md_instance *m)
{
	struct json_object *o = json_object_new_object(), *a;
	char mac[MAC_STRLEN];

	if (!o)
		return NULL;
	json_object_object_add(o, "primary-mac",
			       m->primary_mac_status == MD_KNOWN
				       ? json_object_new_string(mac_format(m->primary_mac, mac))
				       : NULL);
	a = json_object_new_array();
	for (size_t i = 0; a && i < m->n_enis; i++)
		json_object_array_add(a, md_eni_to_json(&m->enis[i]));
	json_object_object_add(o, "interfaces", a);
	return o;
}
