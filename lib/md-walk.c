/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The metadata walk (imds.md §5: list the MAC directory first, fetch only the keys we use) and
 * a getter over JSON trees. Pure: all I/O is behind the getter. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "macro.h"
#include "md-walk.h"
#include "parse-util.h"

#define PATH_MAX_LEN 512

struct body {
	enum md_status status;
	char *text;
	size_t len;
};

static void body_done(struct body *b)
{
	free(b->text);
	*b = (struct body){0};
}

static int get(md_get_fn fn, void *userdata, struct body *ret, const char *fmt, ...)
	_printf_(4, 5);
static int get(md_get_fn fn, void *userdata, struct body *ret, const char *fmt, ...)
{
	char path[PATH_MAX_LEN];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	*ret = (struct body){0};
	return fn(userdata, path, &ret->status, &ret->text, &ret->len);
}

static bool listing_has(char **l, const char *name)
{
	for (; l && *l; l++)
		if (streq(*l, name))
			return true;
	return false;
}

/* Whether the MAC listing names mac, compared as a MAC (as md_walk_instance() reads the listing),
 * so that both walks agree on which ENIs IMDS lists whatever case it writes them in. */
static bool listing_has_mac(char **l, const uint8_t mac[6])
{
	uint8_t m[6];

	for (; l && *l; l++)
		if (parse_mac(*l, m) == 0 && memcmp(m, mac, 6) == 0)
			return true;
	return false;
}

/* Remembers the first key that could not be read, for the messages about the ENI. */
static void note_unread(struct md_eni *e, const char *key, enum md_status status)
{
	if (status == MD_KNOWN || e->unread_key)
		return;
	e->unread_key = key;
	e->unread_absent = status == MD_ABSENT;
}

static int walk_associations(md_get_fn fn, void *userdata, const char *mac, struct md_eni *e)
{
	_cleanup_strv_free_ char **ips = NULL;
	bool failed = false;
	struct body b;
	int r;

	r = get(fn, userdata, &b, "meta-data/network/interfaces/macs/%s/ipv4-associations/", mac);
	if (r < 0)
		return r;
	if (b.status != MD_KNOWN) {
		if (b.status == MD_UNKNOWN)
			note_unread(e, "ipv4-associations/", b.status);
		e->eips_status = b.status;
		body_done(&b);
		return 0;
	}
	r = md_parse_listing(b.text, b.len, &ips);
	if (r < 0) {
		_cleanup_free_ char *q = quote_value(b.text, b.len, 64);
		md_eni_set_error(e, "ipv4-associations/: malformed listing %s", q ? q : "");
		body_done(&b);
		return r == -ENOMEM ? r : 0;
	}
	body_done(&b);
	for (char **ip = ips; *ip; ip++) {
		r = get(fn, userdata, &b, "meta-data/network/interfaces/macs/%s/ipv4-associations/%s",
			mac, *ip);
		if (r < 0)
			return r;
		/* Listed a moment ago but 404 now: not settled, like a per-ENI key. */
		if (b.status != MD_KNOWN)
			failed = true;
		note_unread(e, "ipv4-associations", b.status);
		r = md_eni_set_association(e, *ip, b.status == MD_ABSENT ? MD_UNKNOWN : b.status,
					   b.text, b.len);
		body_done(&b);
		if (r == -ENOMEM)
			return r;
	}
	/* One association that could not be read makes the whole list unknown: a partial list
	 * is never shown as the complete one. */
	e->eips_status = failed ? MD_UNKNOWN : MD_KNOWN;
	return 0;
}

/* Fills e (already md_eni_init'ed) from the MAC directory. */
static int walk_mac(md_get_fn fn, void *userdata, struct md_eni *e)
{
	_cleanup_strv_free_ char **keys = NULL;
	char mac[MAC_STRLEN];
	struct body b;
	int r;

	mac_format(e->mac, mac);
	r = get(fn, userdata, &b, "meta-data/network/interfaces/macs/%s/", mac);
	if (r < 0)
		return r;
	if (b.status == MD_KNOWN) {
		r = md_parse_listing(b.text, b.len, &keys);
		if (r == -ENOMEM) {
			body_done(&b);
			return r;
		}
		if (r < 0) {
			_cleanup_free_ char *q = quote_value(b.text, b.len, 64);
			md_eni_set_error(e, "malformed directory listing %s", q ? q : "");
		}
	}
	if (b.status != MD_KNOWN || !keys) {
		/* The directory could not be read: nothing about this ENI is known. A 404 right
		 * after macs/ listed the MAC means "not settled yet" (imds.md §7), as for keys
		 * below; only a malformed listing (error set above) makes the ENI invalid. */
		e->incomplete = !e->error;
		e->unread_key = "";
		e->unread_absent = b.status == MD_ABSENT;
		body_done(&b);
		md_eni_finish(e);
		return 0;
	}
	body_done(&b);

	for (int k = 0; k < _MD_KEY_MAX; k++) {
		const char *name = md_key_to_string((enum md_key)k);

		if (!listing_has(keys, name)) {
			r = md_eni_set_key(e, (enum md_key)k, MD_ABSENT, NULL, 0);
			if (r < 0)
				return r;
			continue;
		}
		r = get(fn, userdata, &b, "meta-data/network/interfaces/macs/%s/%s", mac, name);
		if (r < 0)
			return r;
		/* Listed a moment ago but 404 now: treat as not settled rather than absent. */
		note_unread(e, name, b.status);
		r = md_eni_set_key(e, (enum md_key)k, b.status == MD_ABSENT ? MD_UNKNOWN : b.status,
				   b.text, b.len);
		body_done(&b);
		if (r == -ENOMEM)
			return r;
	}
	if (listing_has(keys, "ipv4-associations")) {
		r = walk_associations(fn, userdata, mac, e);
		if (r < 0)
			return r;
	} else
		e->eips_status = MD_ABSENT;
	md_eni_finish(e);
	return 0;
}

static int walk_primary_mac(md_get_fn fn, void *userdata, enum md_status *ret_status,
			    uint8_t ret_mac[6])
{
	struct body b;
	int r;

	r = get(fn, userdata, &b, "meta-data/mac");
	if (r < 0)
		return r;
	*ret_status = b.status;
	if (b.status == MD_KNOWN && md_parse_mac(b.text, b.len, ret_mac) < 0)
		*ret_status = MD_UNKNOWN;
	body_done(&b);
	return 0;
}

/* The MAC listing: -EIO when it cannot be read, -EBADMSG when it is malformed. */
static int walk_mac_listing(md_get_fn fn, void *userdata, char ***ret)
{
	struct body b;
	int r;

	r = get(fn, userdata, &b, "meta-data/network/interfaces/macs/");
	if (r < 0)
		return r;
	if (b.status != MD_KNOWN) {
		body_done(&b);
		return -EIO;
	}
	r = md_parse_listing(b.text, b.len, ret);
	body_done(&b);
	if (r < 0)
		return r == -ENOMEM ? r : -EBADMSG;
	return 0;
}

/* A secondary ENI with device-number 0 and no network card is IMDS not being ready yet (the
 * primary is device 0, imds.md §7): configuring it would claim the primary's table. Held back as
 * invalid until IMDS shows its real number; the daemon retries it, ec2netctl leaves it alone. */
static void hold_unready(struct md_eni *e, enum md_status primary_status)
{
	if (primary_status == MD_KNOWN && !e->is_primary && e->device_number_status == MD_KNOWN &&
	    e->device_number == 0 && e->network_card_status != MD_KNOWN && !e->error &&
	    !e->incomplete) /* an incomplete ENI is left alone already */
		md_eni_set_error(e, "device-number 0 on a secondary ENI, IMDS not ready");
}

int md_walk_instance(md_get_fn fn, void *userdata, struct md_instance *ret)
{
	_cleanup_(md_instance_done) struct md_instance m = {0};
	_cleanup_strv_free_ char **macs = NULL;
	int r;

	r = walk_primary_mac(fn, userdata, &m.primary_mac_status, m.primary_mac);
	if (r < 0)
		return r;
	r = walk_mac_listing(fn, userdata, &macs);
	if (r < 0)
		return r;

	for (char **s = macs; *s; s++) {
		uint8_t mac[6];
		struct md_eni e;

		if (parse_mac(*s, mac) < 0)
			return -EBADMSG;
		if (md_instance_find(&m, mac))
			continue;
		md_eni_init(&e, mac);
		e.is_primary =
			m.primary_mac_status == MD_KNOWN && memcmp(mac, m.primary_mac, 6) == 0;
		r = walk_mac(fn, userdata, &e);
		if (r >= 0) {
			hold_unready(&e, m.primary_mac_status);
			r = md_instance_add_take(&m, &e);
		}
		if (r < 0) {
			md_eni_done(&e);
			return r;
		}
	}
	md_instance_sort(&m);
	*ret = m;
	m = (struct md_instance){0};
	return 0;
}

int md_walk_eni(md_get_fn fn, void *userdata, const uint8_t mac[6], struct md_eni *ret)
{
	_cleanup_strv_free_ char **macs = NULL;
	enum md_status st;
	uint8_t primary[6];
	struct md_eni e;
	int r;

	r = walk_primary_mac(fn, userdata, &st, primary);
	if (r < 0)
		return r;
	r = walk_mac_listing(fn, userdata, &macs);
	if (r < 0)
		return r;
	if (!listing_has_mac(macs, mac))
		return -ENOENT;
	md_eni_init(&e, mac);
	e.is_primary = st == MD_KNOWN && memcmp(mac, primary, 6) == 0;
	r = walk_mac(fn, userdata, &e);
	if (r < 0) {
		md_eni_done(&e);
		return r;
	}
	hold_unready(&e, st);
	*ret = e;
	return 0;
}

/* ---- JSON tree getter ---- */

static char *listing_of(struct json_object *dir, size_t *ret_len)
{
	size_t len = 0, n = 0;
	char *out, *o;

	json_object_object_foreach(dir, k0, v0)
	{
		if (k0[0] == '_')
			continue;
		len += strlen(k0) + 2;
		n++;
		(void)v0;
	}
	out = malloc(len + 1);
	if (!out)
		return NULL;
	o = out;
	json_object_object_foreach(dir, k, v)
	{
		if (k[0] == '_')
			continue;
		if (o != out)
			*o++ = '\n';
		o = stpcpy(o, k);
		if (json_object_is_type(v, json_type_object))
			*o++ = '/';
	}
	*o = 0;
	*ret_len = (size_t)(o - out);
	return out;
}

int md_tree_get(void *userdata, const char *path, enum md_status *ret_status, char **ret_body,
		size_t *ret_len)
{
	struct json_object *node = userdata;
	_cleanup_free_ char *copy = NULL;
	char *save = NULL, *part;

	if (strncmp(path, "meta-data/", 10) != 0) {
		*ret_status = MD_ABSENT;
		return 0;
	}
	copy = strdup(path + 10);
	if (!copy)
		return -ENOMEM;
	for (part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		struct json_object *child;
		if (!json_object_is_type(node, json_type_object) || part[0] == '_' ||
		    !json_object_object_get_ex(node, part, &child)) {
			*ret_status = MD_ABSENT;
			return 0;
		}
		node = child;
	}
	if (json_object_is_type(node, json_type_object)) {
		*ret_body = listing_of(node, ret_len);
		if (!*ret_body)
			return -ENOMEM;
	} else if (json_object_is_type(node, json_type_string)) {
		*ret_len = (size_t)json_object_get_string_len(node);
		*ret_body = malloc(*ret_len + 1);
		if (!*ret_body)
			return -ENOMEM;
		memcpy(*ret_body, json_object_get_string(node), *ret_len);
		(*ret_body)[*ret_len] = 0;
	} else {
		*ret_status = MD_ABSENT;
		return 0;
	}
	*ret_status = MD_KNOWN;
	return 0;
}
