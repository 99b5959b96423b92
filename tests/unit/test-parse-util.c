/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Strict parsers and address arithmetic, including hostile input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "ipaddr.h"
#include "numbering.h"
#include "parse-util.h"

static void test_parse_u32_accepts_plain_decimal(void **state)
{
	uint32_t v = 7;
	assert_int_equal(parse_u32("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_u32("4294967295", &v), 0);
	assert_int_equal(v, 4294967295u);
}

static void test_parse_u32_rejects_hostile(void **state)
{
	static const char *const bad[] = {"", " 1", "1 ", "-1", "+1", "0x10", "007", "1e3", "1.0",
					  "١", "1\n", "$(reboot)", "1;2"};
	uint32_t v = 42;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_u32(bad[i], &v), -EINVAL);
	assert_int_equal(parse_u32("4294967296", &v), -ERANGE);
	assert_int_equal(parse_u32("99999999999999999999999", &v), -ERANGE);
	assert_int_equal(v, 42); /* untouched on error */
	assert_int_equal(parse_u32(NULL, &v), -EINVAL);
	assert_int_equal(parse_u32_range("100", 0, 99, &v), -ERANGE);
}

static void test_parse_bool(void **state)
{
	bool b = false;
	assert_int_equal(parse_bool("YES", &b), 0);
	assert_true(b);
	assert_int_equal(parse_bool("off", &b), 0);
	assert_false(b);
	assert_int_equal(parse_bool("maybe", &b), -EINVAL);
	assert_int_equal(parse_bool("", &b), -EINVAL);
}

static void test_parse_sec(void **state)
{
	uint64_t u = 0;
	assert_int_equal(parse_sec("1", &u), 0);
	assert_int_equal(u, 1000000);
	assert_int_equal(parse_sec("0.25", &u), 0);
	assert_int_equal(u, 250000);
	assert_int_equal(parse_sec("250ms", &u), 0);
	assert_int_equal(u, 250000);
	assert_int_equal(parse_sec("2s", &u), 0);
	assert_int_equal(u, 2000000);
	assert_int_equal(parse_sec("", &u), -EINVAL);
	assert_int_equal(parse_sec("s", &u), -EINVAL);
	assert_int_equal(parse_sec("1min", &u), -EINVAL);
	assert_int_equal(parse_sec("-1", &u), -EINVAL);
}

static void test_parse_mac_normalises_case(void **state)
{
	uint8_t m[6];
	char buf[MAC_STRLEN];
	assert_int_equal(parse_mac("0A:07:84:3d:6E:38", m), 0);
	assert_string_equal(mac_format(m, buf), "0a:07:84:3d:6e:38");
	assert_int_equal(parse_mac("0a:07:84:3d:6e", m), -EINVAL);
	assert_int_equal(parse_mac("0a:07:84:3d:6e:3g", m), -EINVAL);
	assert_int_equal(parse_mac("0a-07-84-3d-6e-38", m), -EINVAL);
	assert_int_equal(parse_mac("0a:07:84:3d:6e:38/", m), -EINVAL);
	assert_int_equal(parse_mac("", m), -EINVAL);
}

static void test_eni_id(void **state)
{
	assert_true(eni_id_is_valid("eni-e44ef49e"));
	assert_true(eni_id_is_valid("eni-0d6335689899ce9cc"));
	assert_false(eni_id_is_valid("eni-0D6335689899CE9CC"));
	assert_false(eni_id_is_valid("eni-123"));
	assert_false(eni_id_is_valid("eni-e44ef49e; rm -rf /"));
	assert_false(eni_id_is_valid("i-0123456789abcdef0"));
}

static void test_quote_value_escapes_and_truncates(void **state)
{
	char *q = quote_value("a'b\n\x01", 5, 64);
	assert_string_equal(q, "'a\\x27b\\x0a\\x01'");
	free(q);
	q = quote_value("abcdefgh", 8, 4);
	assert_string_equal(q, "'abcd'...");
	free(q);
	q = quote_value("a\0b", 3, 64);
	assert_string_equal(q, "'a\\x00b'");
	free(q);
}

static void test_ipaddr_parse(void **state)
{
	union ipaddr a;
	int fam = 0;
	assert_int_equal(ipaddr_parse("10.0.0.1", AF_UNSPEC, &fam, &a), 0);
	assert_int_equal(fam, AF_INET);
	assert_int_equal(ipaddr_parse("2600:1f16::1", AF_UNSPEC, &fam, &a), 0);
	assert_int_equal(fam, AF_INET6);
	assert_int_equal(ipaddr_parse("10.0.0.1", AF_INET6, &fam, &a), -EINVAL);
	assert_int_equal(ipaddr_parse("10.0.0.256", AF_UNSPEC, &fam, &a), -EINVAL);
	assert_int_equal(ipaddr_parse("10.0.0", AF_UNSPEC, &fam, &a), -EINVAL);
	assert_int_equal(ipaddr_parse("010.0.0.1", AF_INET, &fam, &a), -EINVAL);
	assert_int_equal(ipaddr_parse(" 10.0.0.1", AF_INET, &fam, &a), -EINVAL);
	assert_int_equal(ipaddr_parse("10.0.0.1 ", AF_INET, &fam, &a), -EINVAL);
	assert_int_equal(ipaddr_parse("fe80::1%eth0", AF_INET6, &fam, &a), -EINVAL);
}

static void test_ipprefix_both_ipv6_spellings_are_equal(void **state)
{
	struct ipprefix a, b;
	char buf[IPPREFIX_STRLEN];
	assert_int_equal(ipprefix_parse("2600:1f16:67f:f201:0:0:0:0/64", AF_INET6, IPPREFIX_CANONICAL, &a), 0);
	assert_int_equal(ipprefix_parse("2600:1f16:67f:f201::/64", AF_INET6, IPPREFIX_CANONICAL, &b), 0);
	assert_true(ipprefix_equal(&a, &b));
	assert_string_equal(ipprefix_format(&a, buf), "2600:1f16:67f:f201::/64");
}

static void test_ipprefix_rejects(void **state)
{
	struct ipprefix p;
	assert_int_equal(ipprefix_parse("172.31.166.0/20", AF_INET, IPPREFIX_CANONICAL, &p), -EINVAL);
	assert_int_equal(ipprefix_parse("172.31.166.0/20", AF_INET, 0, &p), 0);
	assert_int_equal(ipprefix_parse("10.0.0.0/33", AF_INET, 0, &p), -ERANGE);
	assert_int_equal(ipprefix_parse("::/129", AF_INET6, 0, &p), -ERANGE);
	assert_int_equal(ipprefix_parse("10.0.0.0/", AF_INET, 0, &p), -EINVAL);
	assert_int_equal(ipprefix_parse("10.0.0.0/024", AF_INET, 0, &p), -EINVAL);
	assert_int_equal(ipprefix_parse("10.0.0.0/-1", AF_INET, 0, &p), -EINVAL);
	assert_int_equal(ipprefix_parse("10.0.0.0", AF_INET, 0, &p), -EINVAL);
	assert_int_equal(ipprefix_parse("10.0.0.1", AF_INET, IPPREFIX_BARE, &p), 0);
	assert_int_equal(p.len, 32);
	assert_int_equal(ipprefix_parse("10.0.0.0/8/8", AF_INET, 0, &p), -EINVAL);
	assert_int_equal(ipprefix_parse("/8", AF_INET, 0, &p), -EINVAL);
}

static void test_ipprefix_arithmetic(void **state)
{
	struct ipprefix p;
	union ipaddr a, gw;
	char buf[INET6_ADDRSTRLEN];
	assert_int_equal(ipprefix_parse("172.31.32.0/20", AF_INET, IPPREFIX_CANONICAL, &p), 0);
	assert_int_equal(ipprefix_nth(&p, 1, &gw), 0);
	assert_string_equal(ipaddr_format(AF_INET, &gw, buf), "172.31.32.1");
	assert_int_equal(ipprefix_nth(&p, 4096, &gw), -ERANGE);
	assert_int_equal(ipaddr_parse("172.31.47.221", AF_INET, NULL, &a), 0);
	assert_true(ipprefix_contains(&p, AF_INET, &a));
	assert_int_equal(ipaddr_parse("172.31.48.1", AF_INET, NULL, &a), 0);
	assert_false(ipprefix_contains(&p, AF_INET, &a));
	assert_int_equal(ipprefix_parse("10.1.2.3/0", AF_INET, 0, &p), 0);
	assert_true(ipprefix_contains(&p, AF_INET, &a));
}

static void test_numbering(void **state)
{
	assert_int_equal(numbering_table(0, 0), 10000);
	assert_int_equal(numbering_table(1, 2), 10102);
	assert_int_equal(numbering_priority(3, 1), 10301);
	assert_int_equal(numbering_metric(1, 1), 613);
	assert_true(numbering_valid(99, 99));
	assert_false(numbering_valid(0, 100));
	assert_false(numbering_valid(100, 0));
	assert_true(numbering_is_eni_table(10001));
	assert_false(numbering_is_eni_table(254));
}

static void test_backoff_grows_caps_and_jitters(void **state)
{
	assert_int_equal(backoff_delay_usec(0, 100000, 2000000, 0), 80000);
	assert_int_equal(backoff_delay_usec(0, 100000, 2000000, UINT32_MAX), 119900);
	assert_int_equal(backoff_delay_usec(3, 100000, 2000000, 1u << 31), 800000);
	assert_int_equal(backoff_delay_usec(50, 100000, 2000000, 1u << 31), 2000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_u32_accepts_plain_decimal),
		cmocka_unit_test(test_parse_u32_rejects_hostile),
		cmocka_unit_test(test_parse_bool),
		cmocka_unit_test(test_parse_sec),
		cmocka_unit_test(test_parse_mac_normalises_case),
		cmocka_unit_test(test_eni_id),
		cmocka_unit_test(test_quote_value_escapes_and_truncates),
		cmocka_unit_test(test_ipaddr_parse),
		cmocka_unit_test(test_ipprefix_both_ipv6_spellings_are_equal),
		cmocka_unit_test(test_ipprefix_rejects),
		cmocka_unit_test(test_ipprefix_arithmetic),
		cmocka_unit_test(test_numbering),
		cmocka_unit_test(test_backoff_grows_caps_and_jitters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
