/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Every pure parser of an IMDS body (metadata.c). The first byte picks the parser: 0..10 are the
 * per-ENI keys of enum md_key fed to md_eni_set_key(), 11 a directory listing, 12 the top-level
 * 'mac', 13 an ipv4-associations/<public-ip> answer (first line the public IP, the rest the
 * body); the other bytes are the body as IMDS sent it. Properties: a body is either accepted
 * with every value in range and every value formatting back to text that parses to the same
 * thing, or refused with the ENI marked invalid by a bounded message naming MAC and key, and the
 * key left unknown. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ec2net-defs.h"
#include "fuzz.h"
#include "macro.h"
#include "metadata.h"
#include "parse-util.h"

enum {
	OP_LISTING = _MD_KEY_MAX,
	OP_MAC,
	OP_ASSOCIATION,
	_OP_MAX,
};

/* More than the longest message: "<mac> <key>: <what> '<64 bytes quoted as \xNN each>'...". */
#define ERROR_MAX 512

static const uint8_t test_mac[6] = {0x0a, 0x00, 0x00, 0x00, 0x00, 0x01};
#define TEST_MAC_STR "0a:00:00:00:00:01 "

static bool key_is_list(enum md_key key)
{
	return key != MD_KEY_DEVICE_NUMBER && key != MD_KEY_NETWORK_CARD &&
	       key != MD_KEY_INTERFACE_ID;
}

static bool key_is_ipv6(enum md_key key)
{
	return key == MD_KEY_IPV6S || key == MD_KEY_SUBNET_IPV6_CIDR_BLOCKS ||
	       key == MD_KEY_IPV6_PREFIX;
}

static bool key_is_addresses(enum md_key key)
{
	return key == MD_KEY_LOCAL_IPV4S || key == MD_KEY_IPV6S || key == MD_KEY_PUBLIC_IPV4S;
}

static void check_error(const struct md_eni *e, const char *key)
{
	FUZZ_CHECK(e->error);
	FUZZ_CHECK(strncmp(e->error, TEST_MAC_STR, strlen(TEST_MAC_STR)) == 0);
	FUZZ_CHECK(strstr(e->error, key));
	/* Outside values are quoted and truncated: no raw control byte, a bounded length. */
	FUZZ_CHECK(strlen(e->error) < ERROR_MAX);
	for (const char *p = e->error; *p; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
}

/* The list as text again (one canonical entry per line) must parse to the same list. */
static void check_list_reparses(enum md_key key, const struct md_list *l)
{
	_cleanup_free_ char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	struct md_eni again;
	const struct md_list *l2;

	FUZZ_CHECK(f);
	for (size_t i = 0; i < l->n; i++) {
		char buf[IPPREFIX_STRLEN];
		fprintf(f, "%s\n",
			key_is_addresses(key) ? ipaddr_format(l->items[i].family, &l->items[i].addr,
							      buf)
					      : ipprefix_format(&l->items[i], buf));
	}
	FUZZ_CHECK(fclose(f) == 0);
	md_eni_init(&again, test_mac);
	FUZZ_CHECK(md_eni_set_key(&again, key, MD_KNOWN, text, size) == 0);
	l2 = md_eni_list(&again, key);
	FUZZ_CHECK(l2->n == l->n);
	for (size_t i = 0; i < l->n; i++)
		FUZZ_CHECK(ipprefix_equal(&l->items[i], &l2->items[i]));
	md_eni_done(&again);
}

static void check_list(enum md_key key, const struct md_list *l)
{
	int family = key_is_ipv6(key) ? AF_INET6 : AF_INET;

	FUZZ_CHECK(l->n <= 256);
	if (key == MD_KEY_SUBNET_IPV4_CIDR_BLOCK)
		FUZZ_CHECK(l->n == 1);
	for (size_t i = 0; i < l->n; i++) {
		const struct ipprefix *p = &l->items[i];

		FUZZ_CHECK(p->family == family);
		FUZZ_CHECK(p->len <= ipaddr_bits(family));
		if (key_is_addresses(key))
			FUZZ_CHECK(p->len == ipaddr_bits(family));
		else
			FUZZ_CHECK(ipprefix_is_canonical(p));
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(!ipprefix_equal(p, &l->items[j]));
	}
	check_list_reparses(key, l);
}

static void check_number(enum md_key key, uint32_t v)
{
	char text[16];
	struct md_eni again;

	FUZZ_CHECK(v <= (key == MD_KEY_DEVICE_NUMBER ? EC2NET_DEVICE_MAX : EC2NET_CARD_MAX));
	snprintf(text, sizeof(text), "%u", v);
	md_eni_init(&again, test_mac);
	FUZZ_CHECK(md_eni_set_key(&again, key, MD_KNOWN, text, strlen(text)) == 0);
	FUZZ_CHECK((key == MD_KEY_DEVICE_NUMBER ? again.device_number : again.network_card) == v);
	md_eni_done(&again);
}

static void fuzz_key(enum md_key key, const char *body, size_t len)
{
	_cleanup_(md_eni_done) struct md_eni e;
	struct json_object *j;
	int r;

	md_eni_init(&e, test_mac);
	r = md_eni_set_key(&e, key, MD_KNOWN, body, len);
	FUZZ_CHECK(r == 0 || r == -EINVAL);
	if (r < 0) {
		check_error(&e, md_key_to_string(key));
		FUZZ_CHECK(*md_eni_status(&e, key) == MD_UNKNOWN);
		if (key_is_list(key))
			FUZZ_CHECK(md_eni_list(&e, key)->n == 0);
	} else {
		FUZZ_CHECK(!e.error);
		FUZZ_CHECK(*md_eni_status(&e, key) == MD_KNOWN);
		if (key == MD_KEY_DEVICE_NUMBER)
			check_number(key, e.device_number);
		else if (key == MD_KEY_NETWORK_CARD)
			check_number(key, e.network_card);
		else if (key == MD_KEY_INTERFACE_ID)
			FUZZ_CHECK(eni_id_is_valid(e.interface_id));
		else
			check_list(key, md_eni_list(&e, key));
	}
	/* The rest of the way to the model and its JSON must hold up on anything accepted. */
	md_eni_finish(&e);
	FUZZ_CHECK(!md_eni_is_usable(&e)); /* device-number or interface-id is never known here */
	j = md_eni_to_json(&e);
	FUZZ_CHECK(j && json_object_to_json_string(j));
	json_object_put(j);
}

static void check_listing_entry(const char *s)
{
	size_t n = strlen(s);

	FUZZ_CHECK(n > 0 && n <= 255);
	FUZZ_CHECK(!strchr(s, '/') && !strchr(s, '\n'));
	FUZZ_CHECK(!streq(s, ".") && !streq(s, ".."));
	FUZZ_CHECK(s[0] != ' ' && s[0] != '\t' && s[n - 1] != ' ' && s[n - 1] != '\t');
}

static void fuzz_listing(const char *body, size_t len)
{
	_cleanup_strv_free_ char **l = NULL, **l2 = NULL;
	_cleanup_free_ char *text = NULL;
	size_t size = 0, n = 0;
	FILE *f;
	int r;

	r = md_parse_listing(body, len, &l);
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -EBADMSG || r == -E2BIG);
	if (r < 0)
		return;
	FUZZ_CHECK(l);
	f = open_memstream(&text, &size);
	FUZZ_CHECK(f);
	for (char **s = l; *s; s++, n++) {
		check_listing_entry(*s);
		/* Directories are listed with a trailing '/': the entry reads back the same. */
		fprintf(f, "%s%s\n", *s, n % 2 ? "/" : "");
	}
	FUZZ_CHECK(n < 4096);
	FUZZ_CHECK(fclose(f) == 0);
	FUZZ_CHECK(md_parse_listing(text, size, &l2) == 0);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(l2[i] && streq(l[i], l2[i]));
	FUZZ_CHECK(!l2[n]);
}

static void fuzz_mac(const char *body, size_t len)
{
	uint8_t mac[6], mac2[6];
	char s[MAC_STRLEN];
	int r;

	r = md_parse_mac(body, len, mac);
	FUZZ_CHECK(r == 0 || r == -EINVAL);
	if (r < 0)
		return;
	mac_format(mac, s);
	FUZZ_CHECK(strlen(s) == 17);
	FUZZ_CHECK(md_parse_mac(s, strlen(s), mac2) == 0 && memcmp(mac, mac2, 6) == 0);
}

static void fuzz_association(const char *data, size_t size)
{
	_cleanup_(md_eni_done) struct md_eni e;
	_cleanup_free_ char *public_ip = NULL;
	const char *nl = memchr(data, '\n', size);
	size_t n = nl ? (size_t)(nl - data) : size;
	const char *body = nl ? nl + 1 : data + size;
	char a[INET_ADDRSTRLEN];
	struct in_addr check;
	int r;

	public_ip = strndup(data, n);
	FUZZ_CHECK(public_ip);
	md_eni_init(&e, test_mac);
	r = md_eni_set_association(&e, public_ip, MD_KNOWN, body, size - (size_t)(body - data));
	FUZZ_CHECK(r == 0 || r == -EINVAL);
	if (r < 0) {
		check_error(&e, "ipv4-associations");
		FUZZ_CHECK(e.n_eips == 0);
		return;
	}
	FUZZ_CHECK(!e.error && e.n_eips == 1);
	FUZZ_CHECK(inet_pton(AF_INET, public_ip, &check) == 1);
	FUZZ_CHECK(check.s_addr == e.eips[0].public_ip.s_addr);
	FUZZ_CHECK(inet_ntop(AF_INET, &e.eips[0].private_ip, a, sizeof(a)));
	FUZZ_CHECK(inet_pton(AF_INET, a, &check) == 1);
	FUZZ_CHECK(check.s_addr == e.eips[0].private_ip.s_addr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data + 1;
	unsigned op;

	if (size < 1)
		return 0;
	op = data[0] % _OP_MAX;
	size--;
	switch (op) {
	case OP_LISTING:
		fuzz_listing(body, size);
		break;
	case OP_MAC:
		fuzz_mac(body, size);
		break;
	case OP_ASSOCIATION:
		fuzz_association(body, size);
		break;
	default:
		fuzz_key((enum md_key)op, body, size);
		break;
	}
	return 0;
}
