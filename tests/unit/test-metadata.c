/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The metadata model: every pure parser of IMDS bodies (numbers, ENI ids, address and CIDR
 * lists, associations, listings, the top-level mac) with valid and hostile input and the exact
 * error text; md_eni_finish's required keys and cross-key checks; the walk over a JSON tree
 * (one invalid ENI does not affect another); the JSON rendering. No network. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ec2net-defs.h"
#include "ipaddr.h"
#include "macro.h"
#include "md-walk.h"
#include "metadata.h"
#include "parse-util.h"

#define MAC "0a:07:84:3d:6e:38"

static const uint8_t mac0[6] = {0x0a, 0x07, 0x84, 0x3d, 0x6e, 0x38};

/* ---- helpers ------------------------------------------------------------------------------ */

static void eni_new(struct md_eni *e)
{
	md_eni_init(e, mac0);
}

static void set_ok(struct md_eni *e, enum md_key k, const char *body)
{
	int r = md_eni_set_key(e, k, MD_KNOWN, body, strlen(body));

	if (r != 0)
		fprintf(stderr, "%s: '%s' refused: %s\n", md_key_to_string(k), body,
		        e->error ? e->error : "(no message)");
	assert_int_equal(r, 0);
	assert_null(e->error);
}

/* Feeds len bytes of body to a fresh ENI; asserts the refusal and the exact message. */
static void expect_bad_len(enum md_key k, const char *body, size_t len, const char *want)
{
	struct md_eni e;

	eni_new(&e);
	assert_int_equal(md_eni_set_key(&e, k, MD_KNOWN, body, len), -EINVAL);
	assert_non_null(e.error);
	if (want && !streq(e.error, want))
		fprintf(stderr, "got:  %s\nwant: %s\n", e.error, want);
	if (want)
		assert_string_equal(e.error, want);
	/* The key stays unknown: a bad body is never "absent" and never a value. */
	switch (k) {
	case MD_KEY_DEVICE_NUMBER:
		assert_int_equal(e.device_number_status, MD_UNKNOWN);
		break;
	case MD_KEY_NETWORK_CARD:
		assert_int_equal(e.network_card_status, MD_UNKNOWN);
		break;
	case MD_KEY_INTERFACE_ID:
		assert_int_equal(e.interface_id_status, MD_UNKNOWN);
		break;
	default:
		break;
	}
	md_eni_finish(&e);
	assert_false(md_eni_is_usable(&e));
	assert_false(e.incomplete);
	md_eni_done(&e);
}

static void expect_bad(enum md_key k, const char *body, const char *want)
{
	expect_bad_len(k, body, strlen(body), want);
}

static void assert_list(const struct md_list *l, int family, const char *const *want, size_t n)
{
	char buf[IPPREFIX_STRLEN];

	assert_int_equal(l->status, MD_KNOWN);
	assert_int_equal(l->n, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(l->items[i].family, family);
		assert_string_equal(ipprefix_format_short(&l->items[i], buf), want[i]);
	}
}

/* An ENI with every key a valid dual-stack ENI has (2018 capture, imds.md §6.3). */
static void eni_full(struct md_eni *e)
{
	eni_new(e);
	set_ok(e, MD_KEY_DEVICE_NUMBER, "0");
	assert_int_equal(md_eni_set_key(e, MD_KEY_NETWORK_CARD, MD_ABSENT, NULL, 0), 0);
	set_ok(e, MD_KEY_INTERFACE_ID, "eni-0d6335689899ce9cc");
	set_ok(e, MD_KEY_LOCAL_IPV4S, "172.31.44.13\n172.31.45.70");
	set_ok(e, MD_KEY_SUBNET_IPV4_CIDR_BLOCK, "172.31.32.0/20");
	set_ok(e, MD_KEY_VPC_IPV4_CIDR_BLOCKS, "172.31.0.0/16");
	set_ok(e, MD_KEY_IPV6S, "2600:1f16:292:100:c187:593c:4349:136");
	set_ok(e, MD_KEY_SUBNET_IPV6_CIDR_BLOCKS, "2600:1f16:292:100::/64");
	assert_int_equal(md_eni_set_key(e, MD_KEY_IPV4_PREFIX, MD_ABSENT, NULL, 0), 0);
	assert_int_equal(md_eni_set_key(e, MD_KEY_IPV6_PREFIX, MD_ABSENT, NULL, 0), 0);
	set_ok(e, MD_KEY_PUBLIC_IPV4S, "18.218.219.181");
	e->eips_status = MD_KNOWN; /* what the walk sets once the listing was read */
	assert_int_equal(md_eni_set_association(e, "18.218.219.181", MD_KNOWN, "172.31.44.13", 12),
	                 0);
}

/* ---- keys --------------------------------------------------------------------------------- */

static void test_key_names_round_trip(void **state)
{
	for (int k = 0; k < _MD_KEY_MAX; k++)
		assert_int_equal(md_key_from_string(md_key_to_string((enum md_key)k)), k);
	assert_int_equal(md_key_from_string("network-card-index"), _MD_KEY_INVALID);
	assert_int_equal(md_key_from_string(NULL), _MD_KEY_INVALID);
	assert_null(md_key_to_string(_MD_KEY_MAX));
	assert_null(md_key_to_string(_MD_KEY_INVALID));
}

/* ---- numbers ------------------------------------------------------------------------------ */

static void test_device_number_and_network_card_accept_decimal(void **state)
{
	static const struct {
		const char *body;
		uint32_t want;
	} ok[] = {{"0", 0}, {"1", 1}, {"7\n", 7}, {"99", 99}, {"12\r\n", 12}};
	struct md_eni e;

	for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
		eni_new(&e);
		set_ok(&e, MD_KEY_DEVICE_NUMBER, ok[i].body);
		set_ok(&e, MD_KEY_NETWORK_CARD, ok[i].body);
		assert_int_equal(e.device_number_status, MD_KNOWN);
		assert_int_equal(e.device_number, ok[i].want);
		assert_int_equal(e.network_card_status, MD_KNOWN);
		assert_int_equal(md_eni_card(&e), ok[i].want);
		md_eni_done(&e);
	}
	/* network-card absent means card 0 (single-card types, imds.md §6.3). */
	eni_new(&e);
	assert_int_equal(md_eni_set_key(&e, MD_KEY_NETWORK_CARD, MD_ABSENT, NULL, 0), 0);
	assert_int_equal(md_eni_card(&e), 0);
	md_eni_done(&e);
}

static void test_device_number_and_network_card_reject_hostile(void **state)
{
	static const enum md_key keys[] = {MD_KEY_DEVICE_NUMBER, MD_KEY_NETWORK_CARD};

	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		const char *k = md_key_to_string(keys[i]);
		char want[256];
		char *big;
		struct md_eni e;

#define BAD(body, what)                                                     \
	do {                                                                \
		(void)snprintf(want, sizeof(want), MAC " %s: %s", k, what); \
		expect_bad(keys[i], body, want);                            \
	} while (0)
		BAD("007", "invalid number '007'");
		BAD("-1", "invalid number '-1'");
		BAD("+1", "invalid number '+1'");
		BAD("1 2", "invalid number '1 2'");
		BAD("1\n2", "invalid number '1\\x0a2'");
		BAD("0x10", "invalid number '0x10'");
		BAD("99999", "out of range (0-99) '99999'");
		BAD("100", "out of range (0-99) '100'");
		BAD("4294967296", "invalid number '4294967296'");
		BAD("", "invalid number ''");
		BAD("\n", "invalid number '\\x0a'");
		BAD("$(reboot)", "invalid number '$(reboot)'");
#undef BAD
		(void)snprintf(want, sizeof(want), MAC " %s: invalid number '1\\x002'", k);
		expect_bad_len(keys[i], "1\0002", 3, want);

		/* 10 MB of digits: refused, and the message stays short. */
		big = malloc(10 * 1024 * 1024);
		assert_non_null(big);
		memset(big, '1', 10 * 1024 * 1024);
		eni_new(&e);
		assert_int_equal(md_eni_set_key(&e, keys[i], MD_KNOWN, big, 10 * 1024 * 1024),
		                 -EINVAL);
		free(big);
		(void)snprintf(want, sizeof(want), MAC " %s: invalid number '", k);
		assert_non_null(e.error);
		assert_memory_equal(e.error, want, strlen(want));
		assert_true(strlen(e.error) < strlen(want) + EC2NET_QUOTE_MAX + 8);
		assert_string_equal(e.error + strlen(e.error) - 4, "'...");
		md_eni_done(&e);
	}
}

/* ---- interface-id ------------------------------------------------------------------------- */

static void test_interface_id_accepts_8_and_17_hex(void **state)
{
	struct md_eni e;

	eni_new(&e);
	set_ok(&e, MD_KEY_INTERFACE_ID, "eni-e44ef49e");
	assert_string_equal(e.interface_id, "eni-e44ef49e");
	set_ok(&e, MD_KEY_INTERFACE_ID, "eni-0d6335689899ce9cc\n");
	assert_string_equal(e.interface_id, "eni-0d6335689899ce9cc");
	assert_int_equal(e.interface_id_status, MD_KNOWN);
	md_eni_done(&e);
}

static void test_interface_id_rejects_case_length_and_metacharacters(void **state)
{
	expect_bad(MD_KEY_INTERFACE_ID, "eni-0D6335689899CE9CC",
	           MAC " interface-id: invalid ENI id 'eni-0D6335689899CE9CC'");
	expect_bad(MD_KEY_INTERFACE_ID, "ENI-e44ef49e",
	           MAC " interface-id: invalid ENI id 'ENI-e44ef49e'");
	expect_bad(MD_KEY_INTERFACE_ID, "eni-e44ef49",
	           MAC " interface-id: invalid ENI id 'eni-e44ef49'");
	expect_bad(MD_KEY_INTERFACE_ID, "eni-e44ef49e0",
	           MAC " interface-id: invalid ENI id 'eni-e44ef49e0'");
	expect_bad(MD_KEY_INTERFACE_ID, "eni-e44ef49e;reboot",
	           MAC " interface-id: invalid ENI id 'eni-e44ef49e;reboot'");
	expect_bad(MD_KEY_INTERFACE_ID, "eni-$(reboot)",
	           MAC " interface-id: invalid ENI id 'eni-$(reboot)'");
	expect_bad(MD_KEY_INTERFACE_ID, "eni-e44ef49e`id`",
	           MAC " interface-id: invalid ENI id 'eni-e44ef49e`id`'");
	expect_bad(MD_KEY_INTERFACE_ID, "eni-'e44ef49e'",
	           MAC " interface-id: invalid ENI id 'eni-\\x27e44ef49e\\x27'");
	expect_bad(MD_KEY_INTERFACE_ID, "eni-e44ef49e\neni-e44ef49f",
	           MAC " interface-id: invalid ENI id 'eni-e44ef49e\\x0aeni-e44ef49f'");
	expect_bad(MD_KEY_INTERFACE_ID, "", MAC " interface-id: invalid ENI id ''");
	expect_bad_len(MD_KEY_INTERFACE_ID, "eni-e44ef49e\0", 13,
	               MAC " interface-id: invalid ENI id 'eni-e44ef49e\\x00'");
}

/* ---- local-ipv4s -------------------------------------------------------------------------- */

static void test_local_ipv4s_primary_first_and_line_endings(void **state)
{
	static const char *const want[] = {"172.31.44.13", "172.31.45.70", "172.31.40.1"};
	static const char *const bodies[] = {
	        "172.31.44.13\n172.31.45.70\n172.31.40.1",
	        "172.31.44.13\n172.31.45.70\n172.31.40.1\n",
	        "172.31.44.13\r\n172.31.45.70\r\n172.31.40.1\r\n",
	        "\n\n172.31.44.13\n\n \n172.31.45.70\n\t\n172.31.40.1\n\n",
	};
	struct md_eni e;

	for (size_t i = 0; i < ELEMENTSOF(bodies); i++) {
		eni_new(&e);
		set_ok(&e, MD_KEY_LOCAL_IPV4S, bodies[i]);
		/* Order as served: the primary (first line) stays first, never sorted. */
		assert_list(&e.ipv4s, AF_INET, want, 3);
		assert_int_equal(e.ipv4s.items[0].len, 32);
		md_eni_done(&e);
	}
	/* A single address without LF. */
	eni_new(&e);
	set_ok(&e, MD_KEY_LOCAL_IPV4S, "10.0.0.5");
	assert_list(&e.ipv4s, AF_INET, (const char *const[]){"10.0.0.5"}, 1);
	/* A second answer replaces the first. */
	set_ok(&e, MD_KEY_LOCAL_IPV4S, "10.0.0.6\n10.0.0.5");
	assert_list(&e.ipv4s, AF_INET, (const char *const[]){"10.0.0.6", "10.0.0.5"}, 2);
	/* An empty body is a known empty list (not absent, not an error). */
	set_ok(&e, MD_KEY_LOCAL_IPV4S, "\n");
	assert_int_equal(e.ipv4s.status, MD_KNOWN);
	assert_int_equal(e.ipv4s.n, 0);
	md_eni_done(&e);
}

static void test_local_ipv4s_reject_hostile(void **state)
{
	char *big, *p;
	struct md_eni e;

	expect_bad(MD_KEY_LOCAL_IPV4S, "10.0.0.300",
	           MAC " local-ipv4s: invalid IPv4 address '10.0.0.300'");
	/* The message names the bad line, not the whole body. */
	expect_bad(MD_KEY_LOCAL_IPV4S, "10.0.0.5\n10.0.0.300\n10.0.0.6",
	           MAC " local-ipv4s: invalid IPv4 address '10.0.0.300'");
	expect_bad(MD_KEY_LOCAL_IPV4S, "10.0.0.5\n2600:1f16:292:100::1",
	           MAC " local-ipv4s: invalid IPv4 address '2600:1f16:292:100::1'");
	expect_bad(MD_KEY_LOCAL_IPV4S, "10.0.0.5\n10.0.0.6\n10.0.0.5",
	           MAC " local-ipv4s: duplicate entry '10.0.0.5'");
	expect_bad(MD_KEY_LOCAL_IPV4S, "10.0.0.5/32",
	           MAC " local-ipv4s: invalid IPv4 address '10.0.0.5/32'");
	expect_bad(MD_KEY_LOCAL_IPV4S, "10.0.0.5 10.0.0.6",
	           MAC " local-ipv4s: invalid IPv4 address '10.0.0.5 10.0.0.6'");
	expect_bad(MD_KEY_LOCAL_IPV4S, "010.0.0.5",
	           MAC " local-ipv4s: invalid IPv4 address '010.0.0.5'");
	expect_bad(MD_KEY_LOCAL_IPV4S, "10.0.0.\xff\xfe",
	           MAC " local-ipv4s: invalid IPv4 address '10.0.0.\\xff\\xfe'");
	expect_bad(MD_KEY_LOCAL_IPV4S, "10.0.0.5\n\xc3\xa9.1.2.3",
	           MAC " local-ipv4s: invalid IPv4 address '\\xc3\\xa9.1.2.3'");
	expect_bad(MD_KEY_LOCAL_IPV4S, "$(reboot)",
	           MAC " local-ipv4s: invalid IPv4 address '$(reboot)'");
	expect_bad_len(MD_KEY_LOCAL_IPV4S, "10.0.0.5\n\00010.0.0.6", 18,
	               MAC " local-ipv4s: NUL byte in body '10.0.0.5\\x0a\\x0010.0.0.6'");

	/* A 300-byte line: refused, quoted truncated. */
	big = malloc(301);
	assert_non_null(big);
	memset(big, '1', 300);
	big[300] = '\0';
	eni_new(&e);
	assert_int_equal(md_eni_set_key(&e, MD_KEY_LOCAL_IPV4S, MD_KNOWN, big, 300), -EINVAL);
	assert_non_null(strstr(e.error, MAC " local-ipv4s: invalid IPv4 address '1111"));
	assert_string_equal(e.error + strlen(e.error) - 4, "'...");
	assert_true(strlen(e.error) < 17 + 36 + EC2NET_QUOTE_MAX + 8);
	md_eni_done(&e);
	free(big);

	/* 1000 entries: more than any instance type allows, refused as a whole. */
	big = malloc(1000 * 16 + 1);
	assert_non_null(big);
	p = big;
	for (int i = 0; i < 1000; i++)
		p += sprintf(p, "10.0.%d.%d\n", i / 250, i % 250 + 1);
	eni_new(&e);
	assert_int_equal(md_eni_set_key(&e, MD_KEY_LOCAL_IPV4S, MD_KNOWN, big, (size_t)(p - big)),
	                 -EINVAL);
	assert_string_equal(e.error, MAC " local-ipv4s: more than 256 entries '10.0.1.7'");
	assert_int_equal(e.ipv4s.status, MD_UNKNOWN);
	assert_int_equal(e.ipv4s.n, 0);
	md_eni_done(&e);
	free(big);
}

static void test_bad_body_keeps_previous_list_and_first_error_wins(void **state)
{
	struct md_eni e;

	eni_new(&e);
	set_ok(&e, MD_KEY_LOCAL_IPV4S, "10.0.0.5");
	assert_int_equal(md_eni_set_key(&e, MD_KEY_IPV6S, MD_KNOWN, "x", 1), -EINVAL);
	assert_int_equal(md_eni_set_key(&e, MD_KEY_DEVICE_NUMBER, MD_KNOWN, "y", 1), -EINVAL);
	assert_string_equal(e.error, MAC " ipv6s: invalid IPv6 address 'x'");
	assert_int_equal(e.ipv4s.n, 1);
	md_eni_set_error(&e, "later %d", 1);
	assert_string_equal(e.error, MAC " ipv6s: invalid IPv6 address 'x'");
	md_eni_done(&e);

	/* md_eni_set_error prefixes the MAC. */
	eni_new(&e);
	md_eni_set_error(&e, "custom %s", "problem");
	assert_string_equal(e.error, MAC " custom problem");
	md_eni_done(&e);

	/* Out of range keys and a missing body are programming errors, not ENI errors. */
	eni_new(&e);
	assert_int_equal(md_eni_set_key(&e, _MD_KEY_MAX, MD_KNOWN, "1", 1), -EINVAL);
	assert_int_equal(md_eni_set_key(&e, MD_KEY_DEVICE_NUMBER, MD_KNOWN, NULL, 0), -EINVAL);
	assert_null(e.error);
	md_eni_done(&e);
}

/* ---- IPv6 and CIDR lists ------------------------------------------------------------------ */

static void test_ipv6s_compressed_and_uncompressed_are_equal(void **state)
{
	struct md_eni a, b;

	eni_new(&a);
	eni_new(&b);
	set_ok(&a, MD_KEY_IPV6S, "2600:1f16:292:100::1\n2600:1f16:292:100:c187:593c:4349:136");
	set_ok(&b, MD_KEY_IPV6S,
	       "2600:1f16:0292:0100:0000:0000:0000:0001\n2600:1F16:292:100:C187:593C:4349:136\n");
	assert_int_equal(a.ipv6s.n, 2);
	assert_int_equal(b.ipv6s.n, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_true(ipprefix_equal(&a.ipv6s.items[i], &b.ipv6s.items[i]));
		assert_int_equal(a.ipv6s.items[i].len, 128);
	}
	assert_list(&b.ipv6s, AF_INET6,
	            (const char *const[]){"2600:1f16:292:100::1",
	                                  "2600:1f16:292:100:c187:593c:4349:136"},
	            2);
	/* Two spellings of one address in one body are a duplicate. */
	assert_int_equal(md_eni_set_key(&a, MD_KEY_IPV6S, MD_KNOWN,
	                                "2600:1f16:292:100::1\n2600:1f16:292:100:0:0:0:1", 46),
	                 -EINVAL);
	assert_string_equal(a.error, MAC " ipv6s: duplicate entry '2600:1f16:292:100:0:0:0:1'");
	md_eni_done(&a);
	md_eni_done(&b);

	expect_bad(MD_KEY_IPV6S, "172.31.44.13", MAC " ipv6s: invalid IPv6 address '172.31.44.13'");
	expect_bad(MD_KEY_IPV6S, "2600:1f16:292:100::1/128",
	           MAC " ipv6s: invalid IPv6 address '2600:1f16:292:100::1/128'");
	expect_bad(MD_KEY_IPV6S, "2600:1f16:292:100::1::2",
	           MAC " ipv6s: invalid IPv6 address '2600:1f16:292:100::1::2'");
}

static void test_cidr_lists_both_ipv6_spellings_equal(void **state)
{
	struct md_eni a, b;

	/* imds.md §6.5: 2016-2018 captures compress, 2024 captures spell the zero groups. */
	eni_new(&a);
	eni_new(&b);
	set_ok(&a, MD_KEY_SUBNET_IPV6_CIDR_BLOCKS, "2600:1f16:67f:f201::/64");
	set_ok(&b, MD_KEY_SUBNET_IPV6_CIDR_BLOCKS, "2600:1f16:67f:f201:0:0:0:0/64");
	assert_int_equal(a.subnet_ipv6s.n, 1);
	assert_int_equal(b.subnet_ipv6s.n, 1);
	assert_true(ipprefix_equal(&a.subnet_ipv6s.items[0], &b.subnet_ipv6s.items[0]));
	assert_list(&b.subnet_ipv6s, AF_INET6, (const char *const[]){"2600:1f16:67f:f201::/64"}, 1);
	set_ok(&a, MD_KEY_IPV6_PREFIX, "2600:1f16:292:100:1234::/80");
	set_ok(&b, MD_KEY_IPV6_PREFIX, "2600:1f16:292:100:1234:0:0:0/80\n");
	assert_true(ipprefix_equal(&a.ipv6_prefixes.items[0], &b.ipv6_prefixes.items[0]));
	md_eni_done(&a);
	md_eni_done(&b);

	eni_new(&a);
	set_ok(&a, MD_KEY_SUBNET_IPV4_CIDR_BLOCK, "172.31.32.0/20\n");
	assert_list(&a.subnet_ipv4, AF_INET, (const char *const[]){"172.31.32.0/20"}, 1);
	set_ok(&a, MD_KEY_VPC_IPV4_CIDR_BLOCKS, "10.0.0.0/16\n100.64.0.0/16");
	assert_list(&a.vpc_ipv4s, AF_INET, (const char *const[]){"10.0.0.0/16", "100.64.0.0/16"},
	            2);
	set_ok(&a, MD_KEY_IPV4_PREFIX, "10.0.3.16/28\n10.0.3.32/28");
	assert_list(&a.ipv4_prefixes, AF_INET,
	            (const char *const[]){"10.0.3.16/28", "10.0.3.32/28"}, 2);
	md_eni_done(&a);

	/* NetworkManager's mock: not the canonical network address of its /20. */
	expect_bad(MD_KEY_SUBNET_IPV4_CIDR_BLOCK, "172.31.166.0/20",
	           MAC " subnet-ipv4-cidr-block: invalid IPv4 CIDR block '172.31.166.0/20'");
	expect_bad(MD_KEY_SUBNET_IPV6_CIDR_BLOCKS, "2600:1f16:67f:f201:0:0:0:1/64",
	           MAC " subnet-ipv6-cidr-blocks: invalid IPv6 CIDR block "
	               "'2600:1f16:67f:f201:0:0:0:1/64'");
	expect_bad(MD_KEY_SUBNET_IPV4_CIDR_BLOCK, "172.31.32.0",
	           MAC " subnet-ipv4-cidr-block: invalid IPv4 CIDR block '172.31.32.0'");
	expect_bad(MD_KEY_SUBNET_IPV4_CIDR_BLOCK, "172.31.32.0/33",
	           MAC " subnet-ipv4-cidr-block: invalid IPv4 CIDR block '172.31.32.0/33'");
	expect_bad(MD_KEY_SUBNET_IPV4_CIDR_BLOCK, "172.31.32.0/020",
	           MAC " subnet-ipv4-cidr-block: invalid IPv4 CIDR block '172.31.32.0/020'");
	expect_bad(MD_KEY_SUBNET_IPV4_CIDR_BLOCK, "172.31.32.0/20\n172.31.48.0/20",
	           MAC " subnet-ipv4-cidr-block: expected exactly one CIDR block "
	               "'172.31.32.0/20\\x0a172.31.48.0/20'");
	expect_bad(MD_KEY_SUBNET_IPV4_CIDR_BLOCK, "",
	           MAC " subnet-ipv4-cidr-block: expected exactly one CIDR block ''");
	expect_bad(MD_KEY_VPC_IPV4_CIDR_BLOCKS, "10.0.0.0/16\n2600:1f16:292:100::/56",
	           MAC " vpc-ipv4-cidr-blocks: invalid IPv4 CIDR block '2600:1f16:292:100::/56'");
	expect_bad(MD_KEY_IPV4_PREFIX, "10.0.3.17/28",
	           MAC " ipv4-prefix: invalid IPv4 CIDR block '10.0.3.17/28'");
	expect_bad(MD_KEY_PUBLIC_IPV4S, "18.218.219.181/32",
	           MAC " public-ipv4s: invalid IPv4 address '18.218.219.181/32'");
}

/* ---- ipv4-associations -------------------------------------------------------------------- */

static void test_ipv4_associations(void **state)
{
	struct md_eni e;

	eni_new(&e);
	assert_int_equal(
	        md_eni_set_association(&e, "18.218.219.181", MD_KNOWN, "172.31.44.13\n", 13), 0);
	assert_int_equal(md_eni_set_association(&e, "3.3.3.3", MD_KNOWN, "172.31.45.70", 12), 0);
	assert_int_equal(e.n_eips, 2);
	assert_int_equal(e.eips[0].public_ip.s_addr, inet_addr("18.218.219.181"));
	assert_int_equal(e.eips[0].private_ip.s_addr, inet_addr("172.31.44.13"));
	assert_int_equal(e.eips[1].private_ip.s_addr, inet_addr("172.31.45.70"));
	assert_null(e.error);
	md_eni_done(&e);

	eni_new(&e);
	assert_int_equal(md_eni_set_association(&e, "18.218.219.999", MD_KNOWN, "172.31.44.13", 12),
	                 -EINVAL);
	assert_string_equal(e.error,
	                    MAC " ipv4-associations: invalid public IPv4 address '18.218.219.999'");
	md_eni_done(&e);

	eni_new(&e);
	assert_int_equal(md_eni_set_association(&e, "$(id)", MD_KNOWN, "172.31.44.13", 12),
	                 -EINVAL);
	assert_string_equal(e.error, MAC " ipv4-associations: invalid public IPv4 address '$(id)'");
	md_eni_done(&e);

	eni_new(&e);
	assert_int_equal(md_eni_set_association(&e, "18.218.219.181", MD_KNOWN,
	                                        "172.31.44.13\n172.31.45.70", 25),
	                 -EINVAL);
	assert_string_equal(e.error, MAC " ipv4-associations/18.218.219.181: invalid IPv4 address "
	                                 "'172.31.44.13\\x0a172.31.45.70'");
	md_eni_done(&e);

	eni_new(&e);
	assert_int_equal(md_eni_set_association(&e, "18.218.219.181", MD_KNOWN, "fe80::1", 7),
	                 -EINVAL);
	assert_string_equal(e.error, MAC " ipv4-associations/18.218.219.181: invalid IPv4 address "
	                                 "'fe80::1'");
	md_eni_done(&e);

	/* An association that could not be read leaves the list unknown. */
	eni_new(&e);
	e.eips_status = MD_KNOWN;
	assert_int_equal(md_eni_set_association(&e, "18.218.219.181", MD_UNKNOWN, NULL, 0), 0);
	assert_int_equal(e.eips_status, MD_UNKNOWN);
	assert_int_equal(e.n_eips, 0);
	md_eni_done(&e);
}

/* ---- listings and mac --------------------------------------------------------------------- */

static void expect_listing(const char *body, size_t len, const char *const *want, size_t n)
{
	_cleanup_strv_free_ char **l = NULL;

	assert_int_equal(md_parse_listing(body, len, &l), 0);
	assert_non_null(l);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(l[i]);
		assert_string_equal(l[i], want[i]);
	}
	assert_null(l[n]);
}

static void test_parse_listing(void **state)
{
	static const char *const macs[] = {"0e:49:61:0f:c3:11", "0e:62:4f:22:be:57"};
	static const char *const keys[] = {"device-number", "ipv4-associations", "local-ipv4s"};
	char **l = NULL;

#define L(s) s, sizeof(s) - 1
	expect_listing(L("0e:49:61:0f:c3:11/\n0e:62:4f:22:be:57/"), macs, 2);
	expect_listing(L("0e:49:61:0f:c3:11/\n0e:62:4f:22:be:57/\n"), macs, 2);
	expect_listing(L("0e:49:61:0f:c3:11\n0e:62:4f:22:be:57"), macs, 2); /* NM's mock */
	expect_listing(L("0e:49:61:0f:c3:11/\r\n\r\n0e:62:4f:22:be:57/\r\n"), macs, 2);
	expect_listing(L("device-number\nipv4-associations/\nlocal-ipv4s"), keys, 3);
	expect_listing(L(""), NULL, 0);
	expect_listing(L("\n\n"), NULL, 0);
	expect_listing(L("/"), NULL, 0);

	assert_int_equal(md_parse_listing(L("mac\n..\nx"), &l), -EINVAL);
	assert_int_equal(md_parse_listing(L("mac\n../"), &l), -EINVAL);
	assert_int_equal(md_parse_listing(L("./"), &l), -EINVAL);
	assert_int_equal(md_parse_listing(L("a/b"), &l), -EINVAL);
	assert_int_equal(md_parse_listing(L("a//"), &l), -EINVAL);
	assert_int_equal(md_parse_listing(L("mac\0local-ipv4s"), &l), -EBADMSG);
	assert_null(l);
#undef L
}

static void test_parse_mac(void **state)
{
	uint8_t m[6] = {0};

	assert_int_equal(md_parse_mac(MAC, 17, m), 0);
	assert_memory_equal(m, mac0, 6);
	assert_int_equal(md_parse_mac(MAC "\n", 18, m), 0);
	assert_memory_equal(m, mac0, 6);
	memset(m, 0, 6);
	assert_int_equal(md_parse_mac("0A:07:84:3D:6E:38", 17, m), 0);
	assert_memory_equal(m, mac0, 6);
	assert_int_equal(md_parse_mac("0a:07:84:3d:6e", 14, m), -EINVAL);
	assert_int_equal(md_parse_mac("0a-07-84-3d-6e-38", 17, m), -EINVAL);
	assert_int_equal(md_parse_mac(MAC "\n" MAC, 35, m), -EINVAL);
	assert_int_equal(md_parse_mac("", 0, m), -EINVAL);
	assert_int_equal(md_parse_mac(MAC "\0", 18, m), -EINVAL);
}

/* ---- md_eni_finish ------------------------------------------------------------------------ */

static void test_finish_full_dual_stack_eni_is_usable(void **state)
{
	struct md_eni e;

	eni_full(&e);
	md_eni_finish(&e);
	assert_null(e.error);
	assert_false(e.incomplete);
	assert_true(md_eni_is_usable(&e));
	assert_int_equal(e.eips_status, MD_KNOWN);
	md_eni_done(&e);
}

static void test_finish_ipv6_only_eni_is_valid(void **state)
{
	struct md_eni e;

	/* imds.md §6.4: no local-ipv4s, no subnet-ipv4-cidr-block; VPC IPv4 CIDRs remain. */
	eni_new(&e);
	set_ok(&e, MD_KEY_DEVICE_NUMBER, "1");
	set_ok(&e, MD_KEY_INTERFACE_ID, "eni-0669816d0cf606123");
	set_ok(&e, MD_KEY_IPV6S, "2600:1f16:67f:f201:8d2e:4d1f:9e80:4ab9");
	set_ok(&e, MD_KEY_SUBNET_IPV6_CIDR_BLOCKS, "2600:1f16:67f:f201:0:0:0:0/64");
	set_ok(&e, MD_KEY_VPC_IPV4_CIDR_BLOCKS, "192.168.0.0/20");
	for (enum md_key k = 0; k < _MD_KEY_MAX; k++)
		if (k == MD_KEY_NETWORK_CARD || k == MD_KEY_LOCAL_IPV4S ||
		    k == MD_KEY_SUBNET_IPV4_CIDR_BLOCK || k == MD_KEY_IPV4_PREFIX ||
		    k == MD_KEY_IPV6_PREFIX || k == MD_KEY_PUBLIC_IPV4S)
			assert_int_equal(md_eni_set_key(&e, k, MD_ABSENT, NULL, 0), 0);
	md_eni_finish(&e);
	assert_null(e.error);
	assert_false(e.incomplete);
	assert_true(md_eni_is_usable(&e));
	assert_int_equal(e.ipv4s.status, MD_ABSENT);
	md_eni_done(&e);
}

static void test_finish_eni_without_ipv6_is_valid(void **state)
{
	struct md_eni e;

	eni_full(&e);
	assert_int_equal(md_eni_set_key(&e, MD_KEY_IPV6S, MD_ABSENT, NULL, 0), 0);
	assert_int_equal(md_eni_set_key(&e, MD_KEY_SUBNET_IPV6_CIDR_BLOCKS, MD_ABSENT, NULL, 0), 0);
	md_eni_finish(&e);
	assert_null(e.error);
	assert_true(md_eni_is_usable(&e));
	assert_int_equal(e.ipv6s.status, MD_ABSENT);
	assert_int_equal(e.ipv6s.n, 0);
	md_eni_done(&e);

	/* IPv6 subnet present but no address on the ENI (imds.md §6.3: ipv6s absent). */
	eni_full(&e);
	assert_int_equal(md_eni_set_key(&e, MD_KEY_IPV6S, MD_ABSENT, NULL, 0), 0);
	md_eni_finish(&e);
	assert_true(md_eni_is_usable(&e));
	md_eni_done(&e);
}

static void test_finish_missing_required_keys_is_invalid(void **state)
{
	struct md_eni e;

	eni_full(&e);
	assert_int_equal(md_eni_set_key(&e, MD_KEY_DEVICE_NUMBER, MD_ABSENT, NULL, 0), 0);
	md_eni_finish(&e);
	assert_string_equal(e.error, MAC " device-number: missing");
	assert_false(e.incomplete);
	assert_false(md_eni_is_usable(&e));
	md_eni_done(&e);

	eni_full(&e);
	assert_int_equal(md_eni_set_key(&e, MD_KEY_INTERFACE_ID, MD_ABSENT, NULL, 0), 0);
	md_eni_finish(&e);
	assert_string_equal(e.error, MAC " interface-id: missing");
	assert_false(md_eni_is_usable(&e));
	md_eni_done(&e);

	eni_full(&e);
	assert_int_equal(md_eni_set_key(&e, MD_KEY_SUBNET_IPV4_CIDR_BLOCK, MD_ABSENT, NULL, 0), 0);
	md_eni_finish(&e);
	assert_string_equal(e.error, MAC " subnet-ipv4-cidr-block: missing while local-ipv4s "
	                                 "lists addresses");
	md_eni_done(&e);

	eni_full(&e);
	assert_int_equal(md_eni_set_key(&e, MD_KEY_SUBNET_IPV6_CIDR_BLOCKS, MD_ABSENT, NULL, 0), 0);
	md_eni_finish(&e);
	assert_string_equal(e.error,
	                    MAC " subnet-ipv6-cidr-blocks: missing while ipv6s lists addresses");
	md_eni_done(&e);
}

static void test_finish_primary_outside_subnet_is_invalid(void **state)
{
	struct md_eni e;

	/* cloud-init's 2016 capture: 172.3.3.15 in 172.31.16.0/20. */
	eni_full(&e);
	set_ok(&e, MD_KEY_LOCAL_IPV4S, "172.3.3.15");
	set_ok(&e, MD_KEY_SUBNET_IPV4_CIDR_BLOCK, "172.31.16.0/20");
	md_eni_finish(&e);
	assert_string_equal(e.error, MAC " local-ipv4s: primary address '172.3.3.15' is outside "
	                                 "subnet-ipv4-cidr-block '172.31.16.0/20'");
	assert_false(md_eni_is_usable(&e));
	md_eni_done(&e);

	/* A /31 or /32 subnet leaves no room for the gateway (.1 of the subnet). */
	eni_full(&e);
	set_ok(&e, MD_KEY_LOCAL_IPV4S, "172.31.44.13");
	set_ok(&e, MD_KEY_SUBNET_IPV4_CIDR_BLOCK, "172.31.44.12/31");
	md_eni_finish(&e);
	assert_string_equal(e.error, MAC " subnet-ipv4-cidr-block: '172.31.44.12/31' leaves no "
	                                 "room for a gateway");
	md_eni_done(&e);
}

static void test_finish_unknown_key_is_incomplete_never_invalid(void **state)
{
	for (enum md_key k = 0; k < _MD_KEY_MAX; k++) {
		struct md_eni e;

		eni_full(&e);
		/* What the walk feeds for an IMDS failure (5xx, timeout) on this key. */
		assert_int_equal(md_eni_set_key(&e, k, MD_UNKNOWN, NULL, 0), 0);
		md_eni_finish(&e);
		if (e.error)
			fprintf(stderr, "%s unknown: %s\n", md_key_to_string(k), e.error);
		assert_null(e.error);
		assert_true(e.incomplete);
		assert_false(md_eni_is_usable(&e));
		md_eni_done(&e);
	}
}

/* ---- the walk over a JSON tree ------------------------------------------------------------ */

static struct json_object *load_tree(const char *name)
{
	_cleanup_free_ char *path = NULL;
	struct json_object *o;

	assert_true(asprintf(&path, "%s/metadata/%s", TEST_DATA_DIR, name) > 0);
	o = json_object_from_file(path);
	if (!o)
		fprintf(stderr, "%s: %s\n", path, json_util_get_last_err());
	assert_non_null(o);
	return o;
}

static const struct md_eni *find(const struct md_instance *m, const char *mac)
{
	uint8_t b[6];

	assert_int_equal(parse_mac(mac, b), 0);
	return md_instance_find(m, b);
}

static void test_walk_one_invalid_eni_does_not_affect_another(void **state)
{
	struct json_object *tree = load_tree("three-enis-one-invalid.json");
	struct md_instance m = {0};
	const struct md_eni *a, *b, *c;

	assert_int_equal(md_walk_instance(md_tree_get, tree, &m), 0);
	assert_int_equal(m.primary_mac_status, MD_KNOWN);
	assert_int_equal(m.n_enis, 3);
	/* Sorted by card, then device number, whatever the listing order. */
	assert_int_equal(m.enis[0].device_number, 0);
	assert_int_equal(m.enis[1].device_number, 1);
	assert_int_equal(m.enis[2].device_number, 2);

	a = find(&m, "0a:07:84:3d:6e:38");
	b = find(&m, "0a:07:84:3d:6e:39");
	c = find(&m, "0a:07:84:3d:6e:3a");
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_true(a->is_primary);
	assert_false(b->is_primary);

	assert_true(md_eni_is_usable(a));
	assert_int_equal(a->ipv4s.n, 2);
	assert_int_equal(a->ipv6s.n, 1);
	assert_int_equal(a->eips_status, MD_KNOWN);
	assert_int_equal(a->n_eips, 1);
	assert_int_equal(a->network_card_status, MD_ABSENT);
	assert_int_equal(a->ipv4_prefixes.status, MD_ABSENT);

	assert_false(md_eni_is_usable(b));
	assert_false(b->incomplete);
	assert_string_equal(b->error,
	                    "0a:07:84:3d:6e:39 local-ipv4s: invalid IPv4 address '10.0.0.300'");
	/* The rest of the bad ENI was still read. */
	assert_string_equal(b->interface_id, "eni-043cdce36ded5e79f");
	assert_int_equal(b->ipv4s.status, MD_UNKNOWN);

	assert_true(md_eni_is_usable(c));
	assert_null(c->error);
	assert_int_equal(c->ipv4s.status, MD_ABSENT);
	assert_int_equal(c->ipv6s.n, 1);
	assert_int_equal(c->eips_status, MD_ABSENT);

	/* One ENI at a time gives the same answers. */
	{
		struct md_eni one;
		uint8_t mac[6];

		assert_int_equal(parse_mac("0a:07:84:3d:6e:39", mac), 0);
		assert_int_equal(md_walk_eni(md_tree_get, tree, mac, &one), 0);
		assert_string_equal(one.error, b->error);
		md_eni_done(&one);
		mac[5] = 0x99;
		assert_int_equal(md_walk_eni(md_tree_get, tree, mac, &one), -ENOENT);
	}
	md_instance_done(&m);
	json_object_put(tree);
}

static void test_walk_without_mac_listing_is_eio(void **state)
{
	struct json_object *tree = json_tokener_parse("{\"mac\": \"" MAC "\"}");
	struct md_instance m = {0};

	assert_non_null(tree);
	assert_int_equal(md_walk_instance(md_tree_get, tree, &m), -EIO);
	assert_int_equal(m.n_enis, 0);
	json_object_put(tree);

	tree = json_tokener_parse(
	        "{\"network\": {\"interfaces\": {\"macs\": {\"not-a-mac\": {}}}}}");
	assert_non_null(tree);
	assert_int_equal(md_walk_instance(md_tree_get, tree, &m), -EBADMSG);
	json_object_put(tree);
}

/* A getter over the JSON tree that answers MD_UNKNOWN (an IMDS failure) or MD_ABSENT (404) for
 * one path: the walk's only seam, as the fake IMDS would do it over HTTP. */
struct failing_tree {
	struct json_object *tree;
	const char *path;
	enum md_status status;
};

static int failing_get(void *userdata, const char *path, enum md_status *ret_status,
                       char **ret_body, size_t *ret_len)
{
	struct failing_tree *f = userdata;

	if (streq(path, f->path)) {
		*ret_status = f->status;
		return 0;
	}
	return md_tree_get(f->tree, path, ret_status, ret_body, ret_len);
}

static void test_walk_failed_association_leaves_eips_unknown(void **state)
{
	struct json_object *tree = load_tree("three-enis-one-invalid.json");
	struct json_object *assoc;
	struct failing_tree f = {
	        .tree = tree,
	        .path = "meta-data/network/interfaces/macs/0a:07:84:3d:6e:38/ipv4-associations/"
	                "18.218.219.181",
	        .status = MD_UNKNOWN,
	};
	struct md_instance m = {0};
	const struct md_eni *a;

	/* Two EIPs; the second one's answer fails. */
	assert_true(json_pointer_get(tree,
	                             "/network/interfaces/macs/0a:07:84:3d:6e:38/ipv4-associations",
	                             &assoc) == 0);
	json_object_object_add(assoc, "3.3.3.3", json_object_new_string("172.31.45.70"));
	assert_int_equal(md_walk_instance(failing_get, &f, &m), 0);
	a = find(&m, MAC);
	/* Never a partial list shown as the whole truth. */
	assert_int_equal(a->eips_status, MD_UNKNOWN);
	md_instance_done(&m);

	/* The listing itself fails: unknown, not absent and not empty. */
	f.path = "meta-data/network/interfaces/macs/0a:07:84:3d:6e:38/ipv4-associations/";
	assert_int_equal(md_walk_instance(failing_get, &f, &m), 0);
	a = find(&m, MAC);
	assert_int_equal(a->eips_status, MD_UNKNOWN);
	md_instance_done(&m);
	json_object_put(tree);
}

static void test_walk_mac_directory_404_after_listing_is_incomplete(void **state)
{
	struct json_object *tree = load_tree("three-enis-one-invalid.json");
	struct failing_tree f = {
	        .tree = tree,
	        .path = "meta-data/network/interfaces/macs/0a:07:84:3d:6e:3a/",
	        .status = MD_ABSENT,
	};
	struct md_instance m = {0};
	const struct md_eni *c;

	/* Listed in macs/ a moment ago, 404 now: not settled (imds.md §7), not invalid. */
	assert_int_equal(md_walk_instance(failing_get, &f, &m), 0);
	assert_int_equal(m.n_enis, 3);
	c = find(&m, "0a:07:84:3d:6e:3a");
	assert_null(c->error);
	assert_true(c->incomplete);
	assert_false(md_eni_is_usable(c));
	assert_true(md_eni_is_usable(find(&m, MAC)));
	md_instance_done(&m);

	f.status = MD_UNKNOWN;
	assert_int_equal(md_walk_instance(failing_get, &f, &m), 0);
	c = find(&m, "0a:07:84:3d:6e:3a");
	assert_null(c->error);
	assert_true(c->incomplete);
	md_instance_done(&m);

	/* 500 on one ENI's local-ipv4s: that ENI incomplete, the others untouched. */
	f.path = "meta-data/network/interfaces/macs/0a:07:84:3d:6e:38/local-ipv4s";
	assert_int_equal(md_walk_instance(failing_get, &f, &m), 0);
	assert_null(find(&m, MAC)->error);
	assert_true(find(&m, MAC)->incomplete);
	assert_int_equal(find(&m, MAC)->ipv4s.status, MD_UNKNOWN);
	assert_true(md_eni_is_usable(find(&m, "0a:07:84:3d:6e:3a")));
	md_instance_done(&m);
	json_object_put(tree);
}

/* ---- JSON --------------------------------------------------------------------------------- */

static void test_json_unknown_null_absent_empty_invalid_error(void **state)
{
	struct md_instance m = {0};
	struct md_eni e;
	struct json_object *o, *ifs, *x, *v;
	static const uint8_t mac1[6] = {0x0a, 0x07, 0x84, 0x3d, 0x6e, 0x39};
	static const uint8_t mac2[6] = {0x0a, 0x07, 0x84, 0x3d, 0x6e, 0x3a};

	m.primary_mac_status = MD_KNOWN;
	memcpy(m.primary_mac, mac0, 6);

	/* valid: ipv6 absent, local-ipv4s known */
	eni_full(&e);
	e.is_primary = true;
	assert_int_equal(md_eni_set_key(&e, MD_KEY_IPV6S, MD_ABSENT, NULL, 0), 0);
	md_eni_finish(&e);
	assert_int_equal(md_instance_add_take(&m, &e), 0);

	/* incomplete: local-ipv4s unknown */
	eni_full(&e);
	memcpy(e.mac, mac1, 6);
	set_ok(&e, MD_KEY_DEVICE_NUMBER, "1");
	assert_int_equal(md_eni_set_key(&e, MD_KEY_LOCAL_IPV4S, MD_UNKNOWN, NULL, 0), 0);
	md_eni_finish(&e);
	assert_int_equal(md_instance_add_take(&m, &e), 0);

	/* invalid */
	eni_full(&e);
	memcpy(e.mac, mac2, 6);
	set_ok(&e, MD_KEY_DEVICE_NUMBER, "2");
	assert_int_equal(md_eni_set_key(&e, MD_KEY_LOCAL_IPV4S, MD_KNOWN, "10.0.0.300", 10),
	                 -EINVAL);
	md_eni_finish(&e);
	assert_int_equal(md_instance_add_take(&m, &e), 0);

	o = md_instance_to_json(&m);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "primary-mac", &v));
	assert_string_equal(json_object_get_string(v), MAC);
	assert_true(json_object_object_get_ex(o, "interfaces", &ifs));
	assert_int_equal(json_object_array_length(ifs), 3);

	x = json_object_array_get_idx(ifs, 0);
	assert_string_equal(json_object_get_string(json_object_object_get(x, "status")), "valid");
	assert_true(json_object_get_boolean(json_object_object_get(x, "primary")));
	assert_int_equal(json_object_get_int(json_object_object_get(x, "table")), 10000);
	assert_int_equal(json_object_get_int(json_object_object_get(x, "network-card")), 0);
	v = json_object_object_get(x, "ipv6s");
	assert_true(json_object_is_type(v, json_type_array));
	assert_int_equal(json_object_array_length(v), 0);
	v = json_object_object_get(x, "ipv4-prefixes");
	assert_true(json_object_is_type(v, json_type_array));
	assert_int_equal(json_object_array_length(v), 0);
	v = json_object_object_get(x, "local-ipv4s");
	assert_int_equal(json_object_array_length(v), 2);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 0)),
	                    "172.31.44.13");
	assert_string_equal(json_object_get_string(json_object_object_get(x, "subnet-ipv4-cidr-"
	                                                                     "block")),
	                    "172.31.32.0/20");
	v = json_object_object_get(x, "elastic-ips");
	assert_int_equal(json_object_array_length(v), 1);
	assert_false(json_object_object_get_ex(x, "error", NULL));

	x = json_object_array_get_idx(ifs, 1);
	assert_string_equal(json_object_get_string(json_object_object_get(x, "status")),
	                    "incomplete");
	assert_true(json_object_object_get_ex(x, "local-ipv4s", &v));
	assert_null(v); /* unknown: json null */
	assert_false(json_object_object_get_ex(x, "table", NULL));
	assert_false(json_object_object_get_ex(x, "error", NULL));

	x = json_object_array_get_idx(ifs, 2);
	assert_string_equal(json_object_get_string(json_object_object_get(x, "status")), "invalid");
	assert_string_equal(json_object_get_string(json_object_object_get(x, "error")),
	                    "0a:07:84:3d:6e:3a local-ipv4s: invalid IPv4 address '10.0.0.300'");
	assert_false(json_object_object_get_ex(x, "table", NULL));

	json_object_put(o);
	md_instance_done(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_key_names_round_trip),
	        cmocka_unit_test(test_device_number_and_network_card_accept_decimal),
	        cmocka_unit_test(test_device_number_and_network_card_reject_hostile),
	        cmocka_unit_test(test_interface_id_accepts_8_and_17_hex),
	        cmocka_unit_test(test_interface_id_rejects_case_length_and_metacharacters),
	        cmocka_unit_test(test_local_ipv4s_primary_first_and_line_endings),
	        cmocka_unit_test(test_local_ipv4s_reject_hostile),
	        cmocka_unit_test(test_bad_body_keeps_previous_list_and_first_error_wins),
	        cmocka_unit_test(test_ipv6s_compressed_and_uncompressed_are_equal),
	        cmocka_unit_test(test_cidr_lists_both_ipv6_spellings_equal),
	        cmocka_unit_test(test_ipv4_associations),
	        cmocka_unit_test(test_parse_listing),
	        cmocka_unit_test(test_parse_mac),
	        cmocka_unit_test(test_finish_full_dual_stack_eni_is_usable),
	        cmocka_unit_test(test_finish_ipv6_only_eni_is_valid),
	        cmocka_unit_test(test_finish_eni_without_ipv6_is_valid),
	        cmocka_unit_test(test_finish_missing_required_keys_is_invalid),
	        cmocka_unit_test(test_finish_primary_outside_subnet_is_invalid),
	        cmocka_unit_test(test_finish_unknown_key_is_incomplete_never_invalid),
	        cmocka_unit_test(test_walk_one_invalid_eni_does_not_affect_another),
	        cmocka_unit_test(test_walk_without_mac_listing_is_eio),
	        cmocka_unit_test(test_walk_failed_association_leaves_eips_unknown),
	        cmocka_unit_test(test_walk_mac_directory_404_after_listing_is_incomplete),
	        cmocka_unit_test(test_json_unknown_null_absent_empty_invalid_error),
	};

	return cmocka_run_group_tests_name("metadata", tests, NULL, NULL);
}
