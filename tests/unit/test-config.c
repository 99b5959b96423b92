/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ec2net.conf: defaults, every key, list and scalar resets, hostile input with its diagnostics,
 * drop-in precedence and masking in a temporary root, refusal of a config with errors, and
 * config_write() round trips. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "diag.h"
#include "ec2net-defs.h"
#include "macro.h"

#define TEST_FILE "test.conf"

static size_t strv_len(char *const *l)
{
	size_t n = 0;

	while (l && l[n])
		n++;
	return n;
}

static void assert_strv_equal(char *const *a, char *const *b)
{
	assert_int_equal(strv_len(a), strv_len(b));
	for (size_t i = 0; i < strv_len(a); i++)
		assert_string_equal(a[i], b[i]);
}

static void assert_config_equal(const struct config *a, const struct config *b)
{
	assert_strv_equal(a->endpoints, b->endpoints);
	assert_int_equal(a->token_ttl_sec, b->token_ttl_sec);
	assert_int_equal(a->timeout_usec, b->timeout_usec);
	assert_int_equal(a->refresh_usec, b->refresh_usec);
	assert_int_equal(a->primary_rules, b->primary_rules);
	assert_int_equal(a->local_routes_first, b->local_routes_first);
	assert_int_equal(a->interface_group, b->interface_group);
	assert_int_equal(a->mtu, b->mtu);
	assert_int_equal(a->prefix_local_routes, b->prefix_local_routes);
	assert_strv_equal(a->unmanaged, b->unmanaged);
}

static void assert_config_is_default(const struct config *c)
{
	_cleanup_(config_done) struct config d = {0};

	assert_int_equal(config_init(&d), 0);
	assert_config_equal(c, &d);
}

/* Parses text (a C string) on top of the defaults. */
static int parse_string(struct config *c, const char *text, struct diag_list *diags)
{
	assert_int_equal(config_init(c), 0);
	return config_parse(c, text, strlen(text), TEST_FILE, diags);
}

static char *read_fixture(const char *name, size_t *ret_len)
{
	_cleanup_free_ char *path = NULL;
	char *text = NULL;
	size_t cap = 0;
	FILE *f;

	assert_true(asprintf(&path, "%s/config/%s", TEST_DATA_DIR, name) > 0);
	f = fopen(path, "re");
	assert_non_null(f);
	*ret_len = (size_t)getdelim(&text, &cap, 0, f);
	assert_true(*ret_len != (size_t)-1);
	fclose(f);
	return text;
}

static char *write_to_string(const struct config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(config_write(c, f), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_defaults_match_design(void **state)
{
	_cleanup_(config_done) struct config c = {0};

	assert_int_equal(config_init(&c), 0);
	assert_int_equal(strv_len(c.endpoints), 2);
	assert_string_equal(c.endpoints[0], "http://169.254.169.254");
	assert_string_equal(c.endpoints[1], "http://[fd00:ec2::254]");
	assert_int_equal(c.token_ttl_sec, 21600);
	assert_int_equal(c.timeout_usec, 1000000);
	assert_int_equal(c.refresh_usec, 60000000);
	assert_true(c.primary_rules);
	assert_true(c.local_routes_first);
	assert_int_equal(c.interface_group, 236);
	assert_int_equal(c.mtu, 9001);
	assert_false(c.prefix_local_routes);
	assert_null(c.unmanaged);

	config_done(&c);
	assert_null(c.endpoints);
	config_done(&c); /* twice is safe */
}

static void test_every_key_parsed(void **state)
{
	_cleanup_(config_done) struct config c = {0};
	_cleanup_(diag_list_done) struct diag_list diags = {0};
	_cleanup_free_ char *text = NULL;
	size_t len;

	text = read_fixture("full.conf", &len);
	assert_int_equal(config_init(&c), 0);
	assert_int_equal(config_parse(&c, text, len, "full.conf", &diags), 0);
	assert_int_equal(diags.n, 0);

	assert_int_equal(strv_len(c.endpoints), 3);
	assert_string_equal(c.endpoints[0], "http://127.0.0.1:8080"); /* trailing '/' dropped */
	assert_string_equal(c.endpoints[1], "http://[::1]:8080");
	assert_string_equal(c.endpoints[2], "http://imds.example.internal");
	assert_int_equal(c.token_ttl_sec, 300);
	assert_int_equal(c.timeout_usec, 250000);
	assert_int_equal(c.refresh_usec, 2500000);
	assert_false(c.primary_rules);
	assert_false(c.local_routes_first);
	assert_int_equal(c.interface_group, 2147483647);
	assert_int_equal(c.mtu, 0);
	assert_true(c.prefix_local_routes);
	assert_int_equal(strv_len(c.unmanaged), 3);
	assert_string_equal(c.unmanaged[0], "docker*");
	assert_string_equal(c.unmanaged[1], "0a:07:84:3d:6e:38"); /* normalised */
	assert_string_equal(c.unmanaged[2], "veth[0-9]?");
}

static void test_accepted_edge_values(void **state)
{
	static const struct {
		const char *text;
		uint32_t mtu;
		uint64_t timeout_usec, refresh_usec;
		uint32_t ttl, group;
	} cases[] = {
		{"[Network]\nMTU=68\n", 68, 1000000, 60000000, 21600, 236},
		{"[Network]\nMTU=65535\n", 65535, 1000000, 60000000, 21600, 236},
		/* systemd trims white space around the value: "9001 " is 9001 */
		{"[Network]\nMTU=9001 \n", 9001, 1000000, 60000000, 21600, 236},
		{"[Network]\nInterfaceGroup=1\n", 9001, 1000000, 60000000, 21600, 1},
		{"[IMDS]\nTimeoutSec=60\n", 9001, 60000000, 60000000, 21600, 236},
		{"[IMDS]\nTimeoutSec=1ms\n", 9001, 1000, 60000000, 21600, 236},
		{"[IMDS]\nTokenTTLSec=1\n", 9001, 1000000, 60000000, 1, 236},
		{"[Daemon]\nRefreshSec=0\n", 9001, 1000000, 0, 21600, 236},
		{"[Daemon]\nRefreshSec=1s\n", 9001, 1000000, 1000000, 21600, 236},
		{"[Daemon]\nRefreshSec=86400\n", 9001, 1000000, 86400000000, 21600, 236},
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_(config_done) struct config c = {0};
		_cleanup_(diag_list_done) struct diag_list diags = {0};

		assert_int_equal(parse_string(&c, cases[i].text, &diags), 0);
		assert_int_equal(diags.n, 0);
		assert_int_equal(c.mtu, cases[i].mtu);
		assert_int_equal(c.timeout_usec, cases[i].timeout_usec);
		assert_int_equal(c.refresh_usec, cases[i].refresh_usec);
		assert_int_equal(c.token_ttl_sec, cases[i].ttl);
		assert_int_equal(c.interface_group, cases[i].group);
	}
}

static void test_endpoint_accepts_literals_names_and_ports(void **state)
{
	static const char *const good[] = {
		"http://169.254.169.254",
		"http://169.254.169.254/",
		"http://[fd00:ec2::254]",
		"http://[fd00:ec2::254]:80/",
		"http://localhost:1",
		"http://a-b.example.com:65535",
		"http://x1",
	};

	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		_cleanup_(config_done) struct config c = {0};
		_cleanup_(diag_list_done) struct diag_list diags = {0};
		_cleanup_free_ char *text = NULL;

		assert_true(asprintf(&text, "[IMDS]\nEndpoint=\nEndpoint=%s\n", good[i]) > 0);
		assert_int_equal(parse_string(&c, text, &diags), 0);
		assert_int_equal(strv_len(c.endpoints), 1);
		assert_true(strncmp(c.endpoints[0], good[i], strlen(c.endpoints[0])) == 0);
	}
}

static void test_list_appends_and_empty_assignment_resets(void **state)
{
	_cleanup_(config_done) struct config c = {0};
	_cleanup_(diag_list_done) struct diag_list diags = {0};

	/* Without a reset, Endpoint= appends to the defaults. */
	assert_int_equal(parse_string(&c, "[IMDS]\nEndpoint=http://10.0.0.1\n", &diags), 0);
	assert_int_equal(strv_len(c.endpoints), 3);
	assert_string_equal(c.endpoints[2], "http://10.0.0.1");

	/* A second file on top: the reset empties, later lines append. */
	static const char more[] = "[IMDS]\nEndpoint=\nEndpoint=http://10.0.0.2\n"
				   "Endpoint=http://10.0.0.3:81\n"
				   "[Network]\nUnmanaged=eth1\nUnmanaged=eth2\nUnmanaged=\n"
				   "Unmanaged=eth3\n";
	assert_int_equal(config_parse(&c, more, strlen(more), "more.conf", &diags), 0);
	assert_int_equal(strv_len(c.endpoints), 2);
	assert_string_equal(c.endpoints[0], "http://10.0.0.2");
	assert_string_equal(c.endpoints[1], "http://10.0.0.3:81");
	assert_int_equal(strv_len(c.unmanaged), 1);
	assert_string_equal(c.unmanaged[0], "eth3");

	/* A reset alone leaves the list empty; parsing itself does not object. */
	static const char reset[] = "[IMDS]\nEndpoint=\n[Network]\nUnmanaged=\n";
	assert_int_equal(config_parse(&c, reset, strlen(reset), "reset.conf", &diags), 0);
	assert_null(c.endpoints);
	assert_null(c.unmanaged);
	assert_int_equal(diags.n, 0);
}

static void test_empty_scalar_assignment_restores_default(void **state)
{
	_cleanup_(config_done) struct config c = {0};
	_cleanup_(diag_list_done) struct diag_list diags = {0};
	static const char set[] = "[IMDS]\nTokenTTLSec=5\nTimeoutSec=2\n[Daemon]\nRefreshSec=0\n"
				  "[Network]\nPrimaryRules=no\nLocalRoutesFirst=no\n"
				  "InterfaceGroup=9\nMTU=1500\nPrefixLocalRoutes=yes\n";
	static const char reset[] = "[IMDS]\nTokenTTLSec=\nTimeoutSec= \n[Daemon]\nRefreshSec=\n"
				    "[Network]\nPrimaryRules=\nLocalRoutesFirst=\n"
				    "InterfaceGroup=\nMTU=\nPrefixLocalRoutes=\n";

	assert_int_equal(parse_string(&c, set, &diags), 0);
	assert_int_equal(c.mtu, 1500);
	assert_int_equal(c.refresh_usec, 0);
	assert_int_equal(config_parse(&c, reset, strlen(reset), "reset.conf", &diags), 0);
	assert_config_is_default(&c);
}

static void test_comments_whitespace_bom_and_crlf(void **state)
{
	_cleanup_(config_done) struct config c = {0};
	_cleanup_(diag_list_done) struct diag_list diags = {0};
	static const char text[] = "\xef\xbb\xbf# comment\r\n"
				   "  ; another = comment\r\n"
				   "\r\n"
				   "  [Network]  \r\n"
				   "\tMTU \t=\t 1500 \r\n"
				   "InterfaceGroup=12"; /* no final newline */

	assert_int_equal(parse_string(&c, text, &diags), 0);
	assert_int_equal(diags.n, 0);
	assert_int_equal(c.mtu, 1500);
	assert_int_equal(c.interface_group, 12);
}

static void test_every_bad_value_is_one_diagnostic(void **state)
{
	static const struct {
		const char *section, *key, *value;
	} bad[] = {
		{"IMDS", "Endpoint", "http://169.254.169.254;rm -rf /"},
		{"IMDS", "Endpoint", "https://169.254.169.254"},
		{"IMDS", "Endpoint", "HTTP://169.254.169.254"},
		{"IMDS", "Endpoint", "169.254.169.254"},
		{"IMDS", "Endpoint", "http://"},
		{"IMDS", "Endpoint", "http:///"},
		{"IMDS", "Endpoint", "http://169.254.169.300"},
		{"IMDS", "Endpoint", "http://169.254.169"},
		{"IMDS", "Endpoint", "http://1.2.3.4.5"},
		{"IMDS", "Endpoint", "http://[fd00:ec2::254"},
		{"IMDS", "Endpoint", "http://[fd00:ec2::zz]"},
		{"IMDS", "Endpoint", "http://[169.254.169.254]"},
		{"IMDS", "Endpoint", "http://[fd00::1]x"},
		{"IMDS", "Endpoint", "http://fd00::1"},
		{"IMDS", "Endpoint", "http://host:"},
		{"IMDS", "Endpoint", "http://host:0"},
		{"IMDS", "Endpoint", "http://host:65536"},
		{"IMDS", "Endpoint", "http://host:080"},
		{"IMDS", "Endpoint", "http://host:80x"},
		{"IMDS", "Endpoint", "http://host/latest"},
		{"IMDS", "Endpoint", "http://host//"},
		{"IMDS", "Endpoint", "http://user@host"},
		{"IMDS", "Endpoint", "http://host?x=1"},
		{"IMDS", "Endpoint", "http://host#x"},
		{"IMDS", "Endpoint", "http://-host"},
		{"IMDS", "Endpoint", "http://host-.example"},
		{"IMDS", "Endpoint", "http://a..b"},
		{"IMDS", "Endpoint", "http://host."},
		{"IMDS", "Endpoint", "http://h_st"},
		{"IMDS", "Endpoint", "http://h\xc3\xa9st"},
		{"IMDS", "Endpoint", "http://$(reboot)"},
		{"IMDS", "TokenTTLSec", "21601"},
		{"IMDS", "TokenTTLSec", "0"},
		{"IMDS", "TokenTTLSec", "-1"},
		{"IMDS", "TokenTTLSec", "0x10"},
		{"IMDS", "TokenTTLSec", "1.5"},
		{"IMDS", "TokenTTLSec", "99999999999999999999"},
		{"IMDS", "TimeoutSec", "0"},
		{"IMDS", "TimeoutSec", "61"},
		{"IMDS", "TimeoutSec", "60.000001"},
		{"IMDS", "TimeoutSec", "1m"},
		{"IMDS", "TimeoutSec", "-1"},
		{"IMDS", "TimeoutSec", "soon"},
		{"Daemon", "RefreshSec", "0.5"},
		{"Daemon", "RefreshSec", "500ms"},
		{"Daemon", "RefreshSec", "86401"},
		{"Daemon", "RefreshSec", "1h"},
		{"Network", "PrimaryRules", "maybe"},
		{"Network", "PrimaryRules", "2"},
		{"Network", "LocalRoutesFirst", "yess"},
		{"Network", "PrefixLocalRoutes", "y e s"},
		{"Network", "InterfaceGroup", "-1"},
		{"Network", "InterfaceGroup", "0"},
		{"Network", "InterfaceGroup", "2147483648"},
		{"Network", "InterfaceGroup", "1e3"},
		{"Network", "MTU", "0x2329"},
		{"Network", "MTU", "0"},
		{"Network", "MTU", "67"},
		{"Network", "MTU", "65536"},
		{"Network", "MTU", "Keep"},
		{"Network", "MTU", "9001 1500"},
		{"Network", "MTU", "09001"},
		{"Network", "Unmanaged", "ens 5"},
		{"Network", "Unmanaged", "a/b"},
		{"Network", "Unmanaged", "eth0:1"},
		{"Network", "Unmanaged", "abcdefghijklmnop"},
		{"Network", "Unmanaged", "aa:bb:cc:dd:ee:zz"},
		{"Network", "Unmanaged", "en%d"},
		{"Network", "Unmanaged", "\xc3\xa9th0"},
		{"Network", "Unmanaged", "eth\x01"},
	};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_(config_done) struct config c = {0};
		_cleanup_(diag_list_done) struct diag_list diags = {0};
		_cleanup_free_ char *text = NULL, *key = NULL;

		assert_true(asprintf(&text, "# line 1\n[%s]\n%s=%s\n", bad[i].section, bad[i].key,
				     bad[i].value) > 0);
		assert_true(asprintf(&key, "for %s=", bad[i].key) > 0);
		print_message("# bad %s=%s\n", bad[i].key, bad[i].value);
		assert_int_equal(parse_string(&c, text, &diags), -EINVAL);
		assert_int_equal(diags.n, 1);
		assert_string_equal(diags.items[0].where, TEST_FILE ":3");
		assert_non_null(strstr(diags.items[0].what, "invalid value '"));
		assert_non_null(strstr(diags.items[0].what, key));
		/* The bad value is not stored, not even partly. */
		assert_config_is_default(&c);
	}
}

static void test_diagnostic_quotes_value_and_names_key(void **state)
{
	_cleanup_(config_done) struct config c = {0};
	_cleanup_(diag_list_done) struct diag_list diags = {0};

	assert_int_equal(
		parse_string(&c, "[IMDS]\nEndpoint=http://169.254.169.254;rm -rf /\n", &diags),
		-EINVAL);
	assert_int_equal(diags.n, 1);
	assert_string_equal(diags.items[0].where, "test.conf:2");
	assert_string_equal(diags.items[0].what,
			    "invalid value 'http://169.254.169.254;rm -rf /' for Endpoint= "
			    "(expected http://HOST[:PORT][/] with an IPv4 address, [IPv6 address] "
			    "or DNS name)");
}

static void test_hostile_lines_each_get_file_line_and_key(void **state)
{
	_cleanup_(config_done) struct config c = {0};
	_cleanup_(diag_list_done) struct diag_list diags = {0};
	_cleanup_free_ char *text = NULL;
	char *p;
	size_t len;
	static const char head[] = "MTU=1500\n"			   /* 1: outside a section */
				   "[Network]\n"		   /* 2 */
				   "Mtu=1500\n"			   /* 3: unknown key */
				   "MTU 1500\n"			   /* 4: no '=' */
				   "MTU=9\0" "001\n"		   /* 5: NUL byte */
				   "[Netwrok]\n"		   /* 6: unknown section */
				   "MTU=1\n"			   /* 7: skipped with its section */
				   "[Network\n"			   /* 8: bad header */
				   "[IMDS]\n"			   /* 9 */
				   "=5\n"			   /* 10: no key */
				   "MTU=1500\n"			   /* 11: key of another section */
				   "TokenTTLSec=21601\n"	   /* 12: out of range */
				   "TokenTTLSec=600\n";		   /* 13: fine */
	const size_t long_len = CONFIG_LINE_MAX + 1;

	/* Line 14: one byte too long, though its value would be fine. */
	len = sizeof(head) - 1 + long_len + 1;
	text = malloc(len);
	assert_non_null(text);
	memcpy(text, head, sizeof(head) - 1);
	p = text + sizeof(head) - 1;
	memcpy(p, "Endpoint=http://", 16);
	memset(p + 16, 'a', long_len - 16);
	p[long_len] = '\n';

	assert_int_equal(config_init(&c), 0);
	assert_int_equal(config_parse(&c, text, len, "/etc/ec2net/x.conf", &diags), -EINVAL);
	for (size_t i = 0; i < diags.n; i++)
		print_message("# %s: %s\n", diags.items[i].where, diags.items[i].what);
	assert_int_equal(diags.n, 10);

	assert_string_equal(diags.items[0].where, "/etc/ec2net/x.conf:1");
	assert_string_equal(diags.items[0].what, "key 'MTU' outside of any section (value '1500')");
	assert_string_equal(diags.items[1].where, "/etc/ec2net/x.conf:3");
	assert_string_equal(diags.items[1].what,
			    "unknown key 'Mtu' in section [Network] (value '1500')");
	assert_string_equal(diags.items[2].where, "/etc/ec2net/x.conf:4");
	assert_string_equal(diags.items[2].what, "missing '=' in line 'MTU 1500'");
	assert_string_equal(diags.items[3].where, "/etc/ec2net/x.conf:5");
	assert_string_equal(diags.items[3].what, "NUL byte in line 'MTU=9\\x00001'");
	assert_string_equal(diags.items[4].where, "/etc/ec2net/x.conf:6");
	assert_string_equal(diags.items[4].what, "unknown section 'Netwrok'");
	assert_string_equal(diags.items[5].where, "/etc/ec2net/x.conf:8");
	assert_string_equal(diags.items[5].what, "invalid section header '[Network'");
	assert_string_equal(diags.items[6].where, "/etc/ec2net/x.conf:10");
	assert_string_equal(diags.items[6].what, "missing key name before '=' (value '5')");
	assert_string_equal(diags.items[7].where, "/etc/ec2net/x.conf:11");
	assert_string_equal(diags.items[7].what,
			    "unknown key 'MTU' in section [IMDS] (value '1500')");
	assert_string_equal(diags.items[8].where, "/etc/ec2net/x.conf:12");
	assert_string_equal(diags.items[8].what,
			    "invalid value '21601' for TokenTTLSec= "
			    "(expected an integer 1..21600)");
	assert_string_equal(diags.items[9].where, "/etc/ec2net/x.conf:14");
	assert_non_null(strstr(diags.items[9].what, "line too long, 4097 bytes, at most 4096: "
						    "'Endpoint=http://aaaa"));
	assert_non_null(strstr(diags.items[9].what, "'..."));
	/* Line 7 was skipped with its unknown section, line 13 is fine and was applied. */
	assert_int_equal(c.token_ttl_sec, 600);
	assert_int_equal(c.mtu, EC2NET_DEFAULT_MTU);
}

static void test_line_of_exactly_the_limit_is_accepted(void **state)
{
	_cleanup_(config_done) struct config c = {0};
	_cleanup_(diag_list_done) struct diag_list diags = {0};
	_cleanup_free_ char *text = NULL;
	static const char head[] = "[Network]\nMTU=";
	size_t pad = CONFIG_LINE_MAX - strlen("MTU=1500");
	size_t len = strlen(head) + pad + strlen("1500");

	/* "MTU=" then spaces then the value: 4096 bytes in all. */
	text = malloc(len);
	assert_non_null(text);
	memcpy(text, head, strlen(head));
	memset(text + strlen(head), ' ', pad);
	memcpy(text + strlen(head) + pad, "1500", 4);
	assert_int_equal(config_init(&c), 0);
	assert_int_equal(config_parse(&c, text, len, TEST_FILE, &diags), 0);
	assert_int_equal(c.mtu, 1500);
}

static void test_list_length_is_capped(void **state)
{
	_cleanup_(config_done) struct config c = {0};
	_cleanup_(diag_list_done) struct diag_list diags = {0};
	_cleanup_free_ char *text = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fputs("[Network]\n", f);
	for (unsigned i = 0; i <= 1024; i++)
		fprintf(f, "Unmanaged=eth%u\n", i);
	assert_int_equal(fclose(f), 0);
	text = buf;

	assert_int_equal(config_init(&c), 0);
	assert_int_equal(config_parse(&c, text, len, TEST_FILE, &diags), -EINVAL);
	assert_int_equal(diags.n, 1);
	assert_string_equal(diags.items[0].where, TEST_FILE ":1026");
	assert_string_equal(diags.items[0].what,
			    "too many Unmanaged= entries, at most 1024 (value 'eth1024')");
	assert_int_equal(strv_len(c.unmanaged), 1024);
}

static void test_is_unmanaged_globs_and_macs(void **state)
{
	_cleanup_(config_done) struct config c = {0};
	_cleanup_(diag_list_done) struct diag_list diags = {0};
	static const uint8_t mac[6] = {0x0a, 0x07, 0x84, 0x3d, 0x6e, 0x38};
	static const uint8_t other[6] = {0x0a, 0x07, 0x84, 0x3d, 0x6e, 0x39};

	assert_int_equal(parse_string(&c, "[Network]\n", &diags), 0);
	assert_false(config_is_unmanaged(&c, "eth0", mac));
	config_done(&c);

	assert_int_equal(parse_string(&c, "[Network]\nUnmanaged=docker*\nUnmanaged=ens[6-7]\n"
					  "Unmanaged=0A:07:84:3D:6E:38\n",
				      &diags),
			 0);
	assert_true(config_is_unmanaged(&c, "docker0", NULL));
	assert_true(config_is_unmanaged(&c, "ens6", other));
	assert_false(config_is_unmanaged(&c, "ens8", other));
	assert_false(config_is_unmanaged(&c, "Docker0", other)); /* names are case-sensitive */
	assert_true(config_is_unmanaged(&c, "ens5", mac));	 /* by MAC, whatever the case */
	assert_true(config_is_unmanaged(&c, NULL, mac));
	assert_false(config_is_unmanaged(&c, NULL, other));
	/* A MAC entry is not a glob on the name. */
	assert_false(config_is_unmanaged(&c, "0a:07:84:3d:6e:38", other));
	assert_false(config_is_unmanaged(&c, NULL, NULL));
}

static void test_write_defaults_is_the_fixture(void **state)
{
	_cleanup_(config_done) struct config c = {0};
	_cleanup_free_ char *out = NULL, *expected = NULL;
	size_t len;

	assert_int_equal(config_init(&c), 0);
	out = write_to_string(&c);
	expected = read_fixture("defaults.dump", &len);
	assert_string_equal(out, expected);
}

static void assert_round_trip(const struct config *c)
{
	_cleanup_(config_done) struct config back = {0};
	_cleanup_(diag_list_done) struct diag_list diags = {0};
	_cleanup_free_ char *out = write_to_string(c), *again = NULL;

	/* On top of a config that differs everywhere: the dump must say everything. */
	assert_int_equal(parse_string(&back, "[Network]\nUnmanaged=x\nMTU=1280\n", &diags), 0);
	assert_int_equal(config_parse(&back, out, strlen(out), "dump.conf", &diags), 0);
	assert_int_equal(diags.n, 0);
	assert_config_equal(c, &back);
	again = write_to_string(&back);
	assert_string_equal(out, again);
}

static void test_write_round_trips(void **state)
{
	_cleanup_(config_done) struct config c = {0};
	_cleanup_(diag_list_done) struct diag_list diags = {0};
	_cleanup_free_ char *text = NULL;
	size_t len;

	assert_int_equal(config_init(&c), 0);
	assert_round_trip(&c);
	config_done(&c);

	text = read_fixture("full.conf", &len);
	assert_int_equal(config_init(&c), 0);
	assert_int_equal(config_parse(&c, text, len, "full.conf", &diags), 0);
	assert_round_trip(&c);
	config_done(&c);

	/* Time spans that need the millisecond and microsecond forms. */
	assert_int_equal(parse_string(&c, "[IMDS]\nTimeoutSec=0.0015\n[Daemon]\nRefreshSec=1.25\n",
				      &diags),
			 0);
	assert_int_equal(c.timeout_usec, 1500);
	assert_round_trip(&c);
	c.timeout_usec = 7;
	c.refresh_usec = 86400 * USEC_PER_SEC;
	assert_round_trip(&c);
}

/* A temporary root directory tree for config_load(). */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Setup and teardown, so that the tree goes even when an assertion fails. */
static int root_setup(void **state)
{
	char *root = strdup("/tmp/test-config-XXXXXX");

	if (!root || !mkdtemp(root)) {
		free(root);
		return -1;
	}
	*state = root;
	return 0;
}

static int root_teardown(void **state)
{
	char *root = *state;
	int r = nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);

	free(root);
	return r;
}

static void make_dirs(const char *root, const char *rel)
{
	_cleanup_free_ char *path = NULL;

	assert_true(asprintf(&path, "%s/%s", root, rel) > 0);
	for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = 0;
		assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
		*p = '/';
	}
	assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
}

static void put_file(const char *root, const char *rel, const char *text, size_t len)
{
	_cleanup_free_ char *path = NULL, *dir = NULL;
	FILE *f;

	dir = strdup(rel);
	assert_non_null(dir);
	*strrchr(dir, '/') = 0;
	make_dirs(root, dir);
	assert_true(asprintf(&path, "%s/%s", root, rel) > 0);
	f = fopen(path, "we");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void put(const char *root, const char *rel, const char *text)
{
	put_file(root, rel, text, strlen(text));
}

static void put_symlink(const char *root, const char *rel, const char *target)
{
	_cleanup_free_ char *path = NULL;

	assert_true(asprintf(&path, "%s/%s", root, rel) > 0);
	assert_int_equal(symlink(target, path), 0);
}

#define USR_D "usr/lib/ec2net/ec2net.conf.d/"
#define RUN_D "run/ec2net/ec2net.conf.d/"
#define ETC_D "etc/ec2net/ec2net.conf.d/"
#define MAIN "etc/ec2net/ec2net.conf"

static void test_load_dropins_precedence_and_masking(void **state)
{
	_cleanup_(config_done) struct config c = {0};
	_cleanup_(diag_list_done) struct diag_list diags = {0};
	const char *root = *state;

	put(root, MAIN, "[Network]\nMTU=1500\nInterfaceGroup=7\nUnmanaged=eth9\n");
	/* Applied in name order whatever the directory: 05-z (etc) before 10-a (usr/lib). */
	put(root, ETC_D "05-z.conf", "[Network]\nMTU=1300\n");
	put(root, USR_D "10-a.conf", "[Network]\nMTU=1400\n[Daemon]\nRefreshSec=5\n");
	/* /run masks /usr/lib. */
	put(root, USR_D "20-b.conf", "[IMDS]\nTokenTTLSec=100\n");
	put(root, RUN_D "20-b.conf", "[IMDS]\nTokenTTLSec=200\n");
	/* /etc masks /run and /usr/lib, even with a broken file, and even with /dev/null. */
	put(root, USR_D "30-c.conf", "[Network]\nUnmanaged=bad/value\n");
	put(root, RUN_D "30-c.conf", "garbage\n");
	make_dirs(root, ETC_D);
	put_symlink(root, ETC_D "30-c.conf", "/dev/null");
	/* An empty file masks too. */
	put(root, USR_D "40-d.conf", "[Network]\nPrimaryRules=no\n");
	put(root, RUN_D "40-d.conf", "");
	/* Not drop-ins: wrong suffix, hidden, bare suffix. */
	put(root, USR_D "50-e.conf.bak", "garbage\n");
	put(root, USR_D ".hidden.conf", "garbage\n");
	put(root, ETC_D ".conf", "garbage\n");
	put(root, ETC_D "60-f.conf", "[Network]\nUnmanaged=\nUnmanaged=docker*\n");

	assert_int_equal(config_init(&c), 0);
	assert_int_equal(config_load(&c, root, NULL, &diags), 0);
	for (size_t i = 0; i < diags.n; i++)
		print_message("# %s: %s\n", diags.items[i].where, diags.items[i].what);
	assert_int_equal(diags.n, 0);
	assert_int_equal(c.mtu, 1400);
	assert_int_equal(c.interface_group, 7);
	assert_int_equal(c.refresh_usec, 5 * USEC_PER_SEC);
	assert_int_equal(c.token_ttl_sec, 200);
	assert_true(c.primary_rules);
	assert_int_equal(strv_len(c.unmanaged), 1);
	assert_string_equal(c.unmanaged[0], "docker*");
	assert_int_equal(strv_len(c.endpoints), 2);

}

static void test_load_without_any_file_gives_defaults(void **state)
{
	_cleanup_(config_done) struct config c = {0};
	_cleanup_(diag_list_done) struct diag_list diags = {0};
	const char *root = *state;

	/* c zeroed rather than initialised is allowed. */
	assert_int_equal(config_load(&c, root, NULL, &diags), 0);
	assert_int_equal(diags.n, 0);
	assert_config_is_default(&c);
}

static void test_load_missing_explicit_main_file(void **state)
{
	_cleanup_(config_done) struct config c = {0};
	_cleanup_(diag_list_done) struct diag_list diags = {0};
	_cleanup_free_ char *path = NULL;
	const char *root = *state;

	assert_true(asprintf(&path, "%s/nonexistent.conf", root) > 0);
	assert_int_equal(config_init(&c), 0);
	c.mtu = 1234;
	assert_int_equal(config_load(&c, root, path, &diags), -ENOENT);
	assert_int_equal(diags.n, 1);
	assert_string_equal(diags.items[0].where, path);
	assert_string_equal(diags.items[0].what, "configuration file not found");
	assert_int_equal(c.mtu, 1234);

	/* An explicit main file that exists replaces <root>/etc/ec2net/ec2net.conf. */
	put(root, "elsewhere/my.conf", "[Network]\nMTU=1500\n");
	put(root, MAIN, "[Network]\nMTU=1600\n");
	free(path);
	assert_true(asprintf(&path, "%s/elsewhere/my.conf", root) > 0);
	assert_int_equal(config_load(&c, root, path, &diags), 0);
	assert_int_equal(c.mtu, 1500);
}

static void test_load_error_in_dropin_leaves_config_untouched(void **state)
{
	_cleanup_(config_done) struct config c = {0}, before = {0};
	_cleanup_(diag_list_done) struct diag_list diags = {0};
	_cleanup_free_ char *where = NULL;
	const char *root = *state;

	put(root, MAIN, "[Network]\nMTU=1500\nUnmanaged=eth5\n");
	assert_int_equal(config_init(&c), 0);
	assert_int_equal(config_load(&c, root, NULL, &diags), 0);
	assert_int_equal(config_init(&before), 0);
	assert_int_equal(config_load(&before, root, NULL, &diags), 0);

	/* A reload that would change a lot, with one typo in one drop-in among good ones. */
	put(root, ETC_D "10-good.conf", "[Network]\nMTU=keep\nUnmanaged=\n[IMDS]\nEndpoint=\n"
					"Endpoint=http://10.1.1.1\n");
	put(root, RUN_D "20-bad.conf", "[Network]\nPrimaryRules=no\nInterfaceGroup=-1\n");
	assert_int_equal(config_load(&c, root, NULL, &diags), -EINVAL);
	assert_int_equal(diags.n, 1);
	assert_true(asprintf(&where, "%s/" RUN_D "20-bad.conf:3", root) > 0);
	assert_string_equal(diags.items[0].where, where);
	assert_config_equal(&c, &before);
}

static void test_load_endpoint_reset_without_endpoint_is_refused(void **state)
{
	_cleanup_(config_done) struct config c = {0};
	_cleanup_(diag_list_done) struct diag_list diags = {0};
	_cleanup_free_ char *where = NULL;
	const char *root = *state;

	put(root, MAIN, "[IMDS]\nEndpoint=\nEndpoint=http://10.0.0.1\n");
	put(root, ETC_D "50-reset.conf", "[IMDS]\nEndpoint=\n");
	put(root, ETC_D "60-other.conf", "[IMDS]\nTimeoutSec=2\n");
	assert_int_equal(config_init(&c), 0);
	assert_int_equal(config_load(&c, root, NULL, &diags), -EINVAL);
	assert_int_equal(diags.n, 1);
	assert_true(asprintf(&where, "%s/" ETC_D "50-reset.conf", root) > 0);
	assert_string_equal(diags.items[0].where, where);
	assert_string_equal(diags.items[0].what,
			    "no IMDS endpoint: Endpoint= was reset and not set again");
	assert_config_is_default(&c);

	/* Set again by a later drop-in: fine. */
	diag_list_done(&diags);
	put(root, ETC_D "70-set.conf", "[IMDS]\nEndpoint=http://[fd00::1]:8080/\n");
	assert_int_equal(config_load(&c, root, NULL, &diags), 0);
	assert_int_equal(strv_len(c.endpoints), 1);
	assert_string_equal(c.endpoints[0], "http://[fd00::1]:8080");
}

static void test_load_refuses_big_and_unreadable_files(void **state)
{
	_cleanup_(config_done) struct config c = {0};
	_cleanup_(diag_list_done) struct diag_list diags = {0};
	_cleanup_free_ char *big = NULL, *where = NULL;
	size_t n = CONFIG_FILE_MAX + 1;
	const char *root = *state;

	/* Valid text throughout, only too much of it. */
	big = malloc(n);
	assert_non_null(big);
	memset(big, '\n', n);
	memcpy(big, "[Network]", 9);
	put_file(root, ETC_D "10-big.conf", big, n);
	make_dirs(root, ETC_D "20-dir.conf");
	put(root, ETC_D "30-bad.conf", "[Network]\nMTU=0x2329\n");

	assert_int_equal(config_init(&c), 0);
	assert_int_equal(config_load(&c, root, NULL, &diags), -EINVAL);
	for (size_t i = 0; i < diags.n; i++)
		print_message("# %s: %s\n", diags.items[i].where, diags.items[i].what);
	assert_int_equal(diags.n, 3);
	assert_true(asprintf(&where, "%s/" ETC_D "10-big.conf", root) > 0);
	assert_string_equal(diags.items[0].where, where);
	assert_string_equal(diags.items[0].what, "file too large, more than 1048576 bytes");
	assert_string_equal(diags.items[1].what, "cannot read file: Is a directory");
	assert_non_null(strstr(diags.items[2].where, "30-bad.conf:2"));

	/* Exactly the limit is fine. */
	diag_list_done(&diags);
	assert_int_equal(unlink(where), 0);
	free(where);
	assert_true(asprintf(&where, "%s/" ETC_D "20-dir.conf", root) > 0);
	assert_int_equal(rmdir(where), 0);
	free(where);
	assert_true(asprintf(&where, "%s/" ETC_D "30-bad.conf", root) > 0);
	assert_int_equal(unlink(where), 0);
	put_file(root, ETC_D "10-big.conf", big, n - 1);
	assert_int_equal(config_load(&c, root, NULL, &diags), 0);
}

#define LOAD_TEST(t) cmocka_unit_test_setup_teardown(t, root_setup, root_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_match_design),
		cmocka_unit_test(test_every_key_parsed),
		cmocka_unit_test(test_accepted_edge_values),
		cmocka_unit_test(test_endpoint_accepts_literals_names_and_ports),
		cmocka_unit_test(test_list_appends_and_empty_assignment_resets),
		cmocka_unit_test(test_empty_scalar_assignment_restores_default),
		cmocka_unit_test(test_comments_whitespace_bom_and_crlf),
		cmocka_unit_test(test_every_bad_value_is_one_diagnostic),
		cmocka_unit_test(test_diagnostic_quotes_value_and_names_key),
		cmocka_unit_test(test_hostile_lines_each_get_file_line_and_key),
		cmocka_unit_test(test_line_of_exactly_the_limit_is_accepted),
		cmocka_unit_test(test_list_length_is_capped),
		cmocka_unit_test(test_is_unmanaged_globs_and_macs),
		cmocka_unit_test(test_write_defaults_is_the_fixture),
		cmocka_unit_test(test_write_round_trips),
		LOAD_TEST(test_load_dropins_precedence_and_masking),
		LOAD_TEST(test_load_without_any_file_gives_defaults),
		LOAD_TEST(test_load_missing_explicit_main_file),
		LOAD_TEST(test_load_error_in_dropin_leaves_config_untouched),
		LOAD_TEST(test_load_endpoint_reset_without_endpoint_is_refused),
		LOAD_TEST(test_load_refuses_big_and_unreadable_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
