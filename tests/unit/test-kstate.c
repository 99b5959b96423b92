/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one text form of kernel objects: format and parse are inverse, keys order and compare as
 * the kernel identifies objects, and hostile lines are diagnosed with file and line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "kstate.h"

static const char *const sample =
	"link eth0 index 2 mac 0e:e2:00:00:00:10 mtu 9001 up group 236 altname eni-000000ee200000010\n"
	"link eth1 index 3 mac 0e:e2:00:00:00:11 mtu 1500 down\n"
	"addr 10.0.1.10/24 dev eth0 proto dhcp\n"
	"addr 10.0.1.20/24 dev eth1 metric 513 proto ec2net\n"
	"addr 10.0.1.21/32 dev eth1 noprefixroute proto ec2net\n"
	"addr 2001:db8:1::20/128 dev eth1 noprefixroute nodad proto ec2net\n"
	"route default via 10.0.1.1 dev eth1 table 10001 proto ec2net\n"
	"route 10.0.1.0/24 dev eth1 table 10001 src 10.0.1.20 scope link proto ec2net\n"
	"route -6 default via fe80:ec2::1 dev eth1 table 10001 metric 1024 proto ec2net\n"
	"route local 10.0.3.16/28 dev eth1 table local scope host proto ec2net\n"
	"route default via 10.0.1.1 dev eth0 src 10.0.1.10 metric 1024 proto dhcp\n"
	"rule lookup main suppress_prefixlength 0 suppress_ifgroup 236 priority 9999 proto ec2net\n"
	"rule -6 lookup main suppress_prefixlength 0 suppress_ifgroup 236 priority 9999 proto ec2net\n"
	"rule from 10.0.1.21 lookup 10001 priority 10001 proto ec2net\n"
	"rule from 2001:db8:1::20 lookup 10001 priority 10001 proto ec2net\n"
	"rule from 192.0.2.0/24 lookup 10001 priority 10001\n";

static char *write_state(const struct kstate *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(kstate_write(s, f), 0);
	fclose(f);
	return buf;
}

static void test_text_form_round_trips(void **state)
{
	struct kstate s = {0}, t = {0};
	struct diag_list d = {0};
	char *a, *b;

	assert_int_equal(kstate_parse(&s, sample, "sample", &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(s.n_links, 2);
	assert_int_equal(s.n_addrs, 4);
	assert_int_equal(s.n_routes, 5);
	assert_int_equal(s.n_rules, 5);
	kstate_sort(&s);
	a = write_state(&s);
	assert_int_equal(kstate_parse(&t, a, "written", &d), 0);
	kstate_sort(&t);
	b = write_state(&t);
	assert_string_equal(a, b); /* format(parse(format(x))) == format(x) */
	for (size_t i = 0; i < s.n_routes; i++)
		assert_true(kroute_equal(&s.routes[i], &t.routes[i]));
	for (size_t i = 0; i < s.n_rules; i++)
		assert_true(krule_equal(&s.rules[i], &t.rules[i]));
	free(a);
	free(b);
	kstate_done(&s);
	kstate_done(&t);
	diag_list_done(&d);
}

static void test_parsed_values(void **state)
{
	struct kstate s = {0};
	char buf[256];

	assert_int_equal(kstate_parse(&s, sample, "sample", NULL), 0);
	const struct klink *l = kstate_link_by_name(&s, "eth1");
	assert_non_null(l);
	assert_int_equal(l->ifindex, 3);
	assert_false(l->up);
	assert_int_equal(s.addrs[3].prefix.family, AF_INET6);
	assert_int_equal(s.routes[2].metric, 1024);
	assert_int_equal(s.routes[3].type, RTN_LOCAL);
	assert_int_equal(s.routes[3].table, RT_TABLE_LOCAL);
	assert_int_equal(s.rules[0].suppress_ifgroup, 236);
	assert_int_equal(s.rules[0].table, RT_TABLE_MAIN);
	assert_int_equal(s.rules[1].family, AF_INET6);
	assert_int_equal(s.rules[4].protocol, 0);
	krule_format(&s.rules[2], buf, sizeof(buf));
	assert_string_equal(buf, "rule from 10.0.1.21 lookup 10001 priority 10001 proto ec2net");
	kroute_format(&s.routes[1], &s, buf, sizeof(buf));
	assert_string_equal(buf,
			    "route 10.0.1.0/24 dev eth1 table 10001 src 10.0.1.20 scope link proto ec2net");
	kstate_done(&s);
}

static void test_keys_follow_kernel_identity(void **state)
{
	struct kstate s = {0};

	assert_int_equal(kstate_parse(&s,
				      "link a index 2\n"
				      "route default via 10.0.0.1 dev a table 10001 proto ec2net\n"
				      "route default via 10.0.0.9 dev a table 10001\n"
				      "route default via 10.0.0.1 dev a table 10001 metric 5\n"
				      "rule from 10.0.0.5 lookup 10001 priority 10001 proto ec2net\n"
				      "rule from 10.0.0.5 lookup 10001 priority 10001\n",
				      "k", NULL),
			 0);
	/* Same table, destination and metric: one route to the kernel, whatever the gateway. */
	assert_int_equal(kroute_key_cmp(&s.routes[0], &s.routes[1]), 0);
	assert_false(kroute_equal(&s.routes[0], &s.routes[1]));
	assert_int_not_equal(kroute_key_cmp(&s.routes[0], &s.routes[2]), 0);
	/* A foreign twin of a rule has the same key but is not equal (the protocol differs). */
	assert_int_equal(krule_key_cmp(&s.rules[0], &s.rules[1]), 0);
	assert_false(krule_equal(&s.rules[0], &s.rules[1]));
	kstate_done(&s);
}

static void test_hostile_lines_are_diagnosed(void **state)
{
	static const char *const bad[] = {
		"addr 10.0.0.1 dev eth0",		   /* no prefix length */
		"addr 10.0.0.1/24",			   /* no dev */
		"addr 10.0.0.1/24 dev nosuch",		   /* unknown dev */
		"route default via 2001:db8::1",	   /* family mismatch */
		"route 10.0.0.0/33",			   /* bad length */
		"rule from 10.0.0.1 priority 5",	   /* no lookup */
		"rule from 10.0.0.1 lookup 1 priority -1", /* negative */
		"rule -6 from 10.0.0.1 lookup 1 priority 1",
		"rule from 10.0.0.1 lookup 1 priority 1 proto 256",
		"link x",				   /* no index */
		"link x index 0",
		"link aaaaaaaaaaaaaaaaaaaaaaaa index 1",	   /* name too long */
		"frobnicate everything",
		"route default table",			   /* missing value */
		"a b c d e f g h i j k l m n o p q r s t u v w x y z a b c d e f g h",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct kstate s = {0};
		struct diag_list d = {0};
		char text[256];

		snprintf(text, sizeof(text), "link eth0 index 2\n# comment\n\n%s\n", bad[i]);
		assert_int_equal(kstate_parse(&s, text, "f.txt", &d), -EINVAL);
		assert_int_equal(d.n, 1);
		assert_string_equal(d.items[0].where, "f.txt:4");
		kstate_done(&s);
		diag_list_done(&d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_form_round_trips),
		cmocka_unit_test(test_parsed_values),
		cmocka_unit_test(test_keys_follow_kernel_identity),
		cmocka_unit_test(test_hostile_lines_are_diagnosed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
