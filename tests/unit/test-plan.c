/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The planner against golden files, and the simulator. Each directory under data/plan/ is a case:
 * meta-data.json ({"meta-data": tree}), observed.txt (kstate text form), optional ec2net.conf,
 * optional unknown-paths (IMDS paths, one per line, whose read fails: MD_UNKNOWN), optional
 * down-macs (MACs taken down with ec2ifdown, one per line), optional only-ifindex (a pass for
 * that interface only) and expected.plan (one op per line as
 * plan_op_format() prints it). EC2NET_UPDATE_GOLDEN=1 rewrites expected.plan instead of comparing.
 * Every case is also checked for the properties of style.md §14: idempotence (simulate, plan
 * again, nothing to do), ownership, fail safe and order. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "config.h"
#include "diag.h"
#include "ec2net-defs.h"
#include "kstate.h"
#include "macro.h"
#include "md-walk.h"
#include "metadata.h"
#include "numbering.h"
#include "parse-util.h"
#include "plan.h"
#include "simulate.h"

#define PLAN_DIR TEST_DATA_DIR "/plan"
#define LINE_MAX_LEN 1024
#define MAX_OF(a, b) ((a) > (b) ? (a) : (b))

/* ---- helpers ---- */

/* The whole file as a NUL-terminated string, or NULL when it does not exist. */
static char *read_text(const char *dir, const char *name)
{
	_cleanup_free_ char *path = NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
	f = fopen(path, "re");
	if (!f) {
		assert_int_equal(errno, ENOENT);
		return NULL;
	}
	for (;;) {
		char buf[4096];
		size_t n = fread(buf, 1, sizeof(buf), f);
		char *t;

		if (n == 0)
			break;
		t = realloc(text, len + n + 1);
		assert_non_null(t);
		text = t;
		memcpy(text + len, buf, n);
		len += n;
	}
	assert_false(ferror(f));
	fclose(f);
	if (!text)
		text = calloc(1, 1);
	assert_non_null(text);
	text[len] = 0;
	return text;
}

static void write_text(const char *dir, const char *name, const char *text)
{
	_cleanup_free_ char *path = NULL;
	FILE *f;

	assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
	f = fopen(path, "we");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Splits text into its non-empty lines (modifies text). Returns a NULL-terminated array. */
static char **split_lines(char *text, size_t *ret_n)
{
	char **l = NULL;
	size_t n = 0;

	for (char *s = text; s && *s;) {
		char *nl = strchr(s, '\n');
		if (nl)
			*nl = 0;
		if (*s) {
			char **t = realloc(l, (n + 2) * sizeof(*l));
			assert_non_null(t);
			l = t;
			l[n++] = s;
		}
		s = nl ? nl + 1 : NULL;
	}
	if (!l)
		l = calloc(1, sizeof(*l));
	assert_non_null(l);
	l[n] = NULL;
	*ret_n = n;
	return l;
}

static void print_diags(const struct diag_list *d)
{
	for (size_t i = 0; i < d->n; i++)
		print_error("# %s: %s\n", d->items[i].where, d->items[i].what);
}

static void parse_kstate(const char *text, const char *name, struct kstate *ret)
{
	struct diag_list d = {0};
	int r;

	*ret = (struct kstate){0};
	r = kstate_parse(ret, text, name, &d);
	print_diags(&d);
	assert_int_equal(d.n, 0);
	assert_int_equal(r, 0);
	diag_list_done(&d);
}

/* The plan, one op per line, as expected.plan holds it. */
static char *plan_to_text(const struct plan *p, const struct kstate *names)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_non_null(f);
	for (size_t i = 0; i < p->n_ops; i++) {
		char buf[LINE_MAX_LEN];
		plan_op_format(&p->ops[i], names, buf, sizeof(buf));
		fprintf(f, "%s\n", buf);
	}
	assert_int_equal(fclose(f), 0);
	return out;
}

/* Prints a line diff (longest common subsequence) of expected and actual. */
static void print_diff(char *expected, char *actual)
{
	size_t na, nb;
	_cleanup_free_ char **a = split_lines(expected, &na);
	_cleanup_free_ char **b = split_lines(actual, &nb);
	_cleanup_free_ size_t *lcs = calloc((na + 1) * (nb + 1), sizeof(*lcs));
	size_t i = 0, j = 0;

	assert_non_null(lcs);
#define LCS(x, y) lcs[(x) * (nb + 1) + (y)]
	for (size_t x = na; x-- > 0;)
		for (size_t y = nb; y-- > 0;)
			LCS(x, y) = streq(a[x], b[y]) ? LCS(x + 1, y + 1) + 1
						      : MAX_OF(LCS(x + 1, y), LCS(x, y + 1));
	print_error("# --- expected.plan\n# +++ actual plan\n");
	while (i < na || j < nb) {
		if (i < na && j < nb && streq(a[i], b[j])) {
			print_error("#   %s\n", a[i]);
			i++, j++;
		} else if (j < nb && (i == na || LCS(i, j + 1) >= LCS(i + 1, j))) {
			print_error("# + %s\n", b[j++]);
		} else {
			print_error("# - %s\n", a[i++]);
		}
	}
#undef LCS
}

/* ---- a case ---- */

struct getter {
	struct json_object *tree; /* the "meta-data" object */
	char **unknown;		  /* paths whose read fails */
	size_t n_unknown;
};

static int get_with_failures(void *userdata, const char *path, enum md_status *ret_status,
			     char **ret_body, size_t *ret_len)
{
	const struct getter *g = userdata;

	for (size_t i = 0; i < g->n_unknown; i++)
		if (streq(g->unknown[i], path)) {
			*ret_status = MD_UNKNOWN;
			return 0;
		}
	return md_tree_get(g->tree, path, ret_status, ret_body, ret_len);
}

struct plan_case {
	char *dir;
	struct md_instance md;
	struct kstate observed;
	struct config config;
	uint8_t (*down)[6];
	size_t n_down;
	int only_ifindex;
};

static void plan_case_done(struct plan_case *c)
{
	md_instance_done(&c->md);
	kstate_done(&c->observed);
	config_done(&c->config);
	free(c->down);
	free(c->dir);
	*c = (struct plan_case){0};
}

static void load_case(const char *name, struct plan_case *c)
{
	_cleanup_free_ char *md_text = NULL, *obs = NULL, *conf = NULL, *unknown = NULL;
	_cleanup_free_ char *down = NULL, **unknown_lines = NULL, **down_lines = NULL;
	_cleanup_free_ char *only = NULL;
	struct json_object *root, *tree;
	struct getter g = {0};
	size_t n;

	*c = (struct plan_case){0};
	assert_true(asprintf(&c->dir, "%s/%s", PLAN_DIR, name) > 0);

	md_text = read_text(c->dir, "meta-data.json");
	assert_non_null(md_text);
	root = json_tokener_parse(md_text);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "meta-data", &tree));
	g.tree = tree;
	unknown = read_text(c->dir, "unknown-paths");
	if (unknown) {
		unknown_lines = split_lines(unknown, &g.n_unknown);
		g.unknown = unknown_lines;
	}
	assert_int_equal(md_walk_instance(get_with_failures, &g, &c->md), 0);
	json_object_put(root);

	obs = read_text(c->dir, "observed.txt");
	assert_non_null(obs);
	parse_kstate(obs, "observed.txt", &c->observed);

	assert_int_equal(config_init(&c->config), 0);
	conf = read_text(c->dir, "ec2net.conf");
	if (conf) {
		struct diag_list d = {0};
		int r = config_parse(&c->config, conf, strlen(conf), "ec2net.conf", &d);
		print_diags(&d);
		assert_int_equal(r, 0);
		diag_list_done(&d);
	}

	down = read_text(c->dir, "down-macs");
	if (down) {
		down_lines = split_lines(down, &n);
		c->down = calloc(n + 1, sizeof(*c->down));
		assert_non_null(c->down);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(parse_mac(down_lines[i], c->down[i]), 0);
		c->n_down = n;
	}

	only = read_text(c->dir, "only-ifindex");
	if (only) {
		uint32_t v;
		only[strcspn(only, "\n")] = 0;
		assert_int_equal(parse_u32(only, &v), 0);
		c->only_ifindex = (int)v;
	}
}

static void build_plan(const struct plan_case *c, const struct kstate *observed, struct plan *ret)
{
	const struct plan_input in = {
		.md = &c->md,
		.observed = observed,
		.config = &c->config,
		.down_macs = (const uint8_t(*)[6])c->down,
		.n_down_macs = c->n_down,
		.only_ifindex = c->only_ifindex,
	};

	assert_int_equal(plan_build(&in, ret, NULL), 0);
}

/* ---- properties (style.md §14) ---- */


static uint8_t op_protocol(const struct plan_op *op)
{
	switch (op->type) {
	case KOBJ_ADDR:
		return op->addr.protocol;
	case KOBJ_ROUTE:
		return op->route.protocol;
	case KOBJ_RULE:
		return op->rule.protocol;
	case KOBJ_LINK:
	case KOBJ_ALTNAME:
	case _KOBJ_TYPE_MAX:
		break;
	}
	return 0;
}

static void fail_op(const char *property, const struct plan_op *op, const struct kstate *names)
{
	char buf[LINE_MAX_LEN];

	plan_op_format(op, names, buf, sizeof(buf));
	print_error("# property '%s' broken by: %s\n", property, buf);
	fail();
}

/* Simulate the plan on observed, plan again with the same metadata: nothing left to do. */
static void check_idempotent(const struct plan_case *c, const struct plan *p)
{
	struct kstate after = {0};
	struct plan again = {0};

	assert_int_equal(simulate_plan(&c->observed, p, &after), 0);
	build_plan(c, &after, &again);
	if (again.n_ops > 0) {
		_cleanup_free_ char *text = plan_to_text(&again, &after);
		print_error("# property 'idempotence' broken: a second pass plans\n%s", text);
		fail();
	}
	plan_done(&again);
	kstate_done(&after);
}

/* Nothing without protocol 236 is deleted or replaced (links have no protocol: a link op only
 * sets up, MTU and group on a managed ENI, which the fail-safe check covers). */
static void check_ownership(const struct plan_case *c, const struct plan *p)
{
	for (size_t i = 0; i < p->n_ops; i++) {
		const struct plan_op *op = &p->ops[i];
		if (op->action == PLAN_ADD || op->type == KOBJ_LINK)
			continue;
		if (op_protocol(op) != EC2NET_PROTO)
			fail_op("ownership", op, &c->observed);
	}
}

/* An invalid or incomplete ENI: no op on its interface, no delete of a rule of its table (by
 * number, or, when the number is unknown, the tables its owned routes live in), and no delete of
 * the instance-wide local-routes-first rules while it is there. */
static void check_fail_safe(const struct plan_case *c, const struct plan *p)
{
	const struct kstate *o = &c->observed;

	for (size_t e = 0; e < c->md.n_enis; e++) {
		const struct md_eni *eni = &c->md.enis[e];
		const struct klink *l = kstate_link_by_mac(o, eni->mac);

		if (md_eni_is_usable(eni) || !l)
			continue;
		for (size_t i = 0; i < p->n_ops; i++) {
			const struct plan_op *op = &p->ops[i];
			bool bad = plan_op_ifindex(op) == l->ifindex;

			if (op->type == KOBJ_RULE && op->action != PLAN_ADD) {
				if (op->rule.priority == EC2NET_LOCAL_RULE_PRIORITY &&
				    op->rule.table == RT_TABLE_MAIN)
					bad = true;
				if (eni->device_number_status == MD_KNOWN &&
				    op->rule.table ==
					    numbering_table(md_eni_card(eni), eni->device_number))
					bad = true;
				for (size_t j = 0; j < o->n_routes; j++)
					if (o->routes[j].ifindex == l->ifindex &&
					    o->routes[j].protocol == EC2NET_PROTO &&
					    o->routes[j].table == op->rule.table)
						bad = true;
			}
			if (bad)
				fail_op("fail safe", op, o);
		}
	}
}

static int add_rank(enum kobj_type t)
{
	static const int rank[_KOBJ_TYPE_MAX] = {
		[KOBJ_LINK] = 0, [KOBJ_ALTNAME] = 1, [KOBJ_ADDR] = 2, [KOBJ_ROUTE] = 3, [KOBJ_RULE] = 4,
	};
	return rank[t];
}

/* Every add (and replace) before every delete; adds in the order link, altname, addr, route,
 * rule; deletes in the order rule, route, addr. */
static void check_order(const struct plan_case *c, const struct plan *p)
{
	bool deleting = false;
	int last = -1;

	for (size_t i = 0; i < p->n_ops; i++) {
		const struct plan_op *op = &p->ops[i];
		int rank;

		if (op->action == PLAN_DEL) {
			if (!deleting)
				last = -1;
			deleting = true;
			if (op->type == KOBJ_LINK || op->type == KOBJ_ALTNAME)
				fail_op("order (no link or altname is deleted)", op, &c->observed);
			rank = 4 - add_rank(op->type);
		} else {
			if (deleting)
				fail_op("order (add after delete)", op, &c->observed);
			rank = add_rank(op->type);
		}
		if (rank < last)
			fail_op("order (object types)", op, &c->observed);
		last = rank;
	}
}

/* ---- the golden-file test of one case ---- */

static void test_plan_case(void **state)
{
	const char *name = *state;
	struct plan_case c;
	struct plan p = {0};
	_cleanup_free_ char *actual = NULL, *expected = NULL;
	const char *update = getenv("EC2NET_UPDATE_GOLDEN");

	load_case(name, &c);
	build_plan(&c, &c.observed, &p);
	actual = plan_to_text(&p, &c.observed);

	if (update && streq(update, "1")) {
		write_text(c.dir, "expected.plan", actual);
	} else {
		expected = read_text(c.dir, "expected.plan");
		if (!expected) {
			print_error("# %s/expected.plan is missing (EC2NET_UPDATE_GOLDEN=1 makes it)\n",
				    c.dir);
			fail();
		}
		if (!streq(expected, actual)) {
			print_error("# case %s: the plan differs from expected.plan\n", name);
			print_diff(expected, actual);
			fail();
		}
	}

	check_ownership(&c, &p);
	check_fail_safe(&c, &p);
	check_order(&c, &p);
	check_idempotent(&c, &p);

	plan_done(&p);
	plan_case_done(&c);
}

/* ---- the simulator ---- */

#define SIM_LINKS                                                                                  \
	"link eth0 index 2 mac 0a:00:00:00:00:01 mtu 1500 down\n"                                   \
	"link eth1 index 3 mac 0a:00:00:00:00:02 mtu 1500 down\n"

/* One op from one line of the text form (after the links above). */
static struct plan_op op_from_text(enum plan_action action, const char *line)
{
	_cleanup_free_ char *text = NULL;
	struct kstate s;
	struct plan_op op = {.action = action, .reason = "test"};

	assert_true(asprintf(&text, "%s%s\n", SIM_LINKS, line) > 0);
	parse_kstate(text, "op", &s);
	if (s.n_addrs == 1) {
		op.type = KOBJ_ADDR;
		op.addr = s.addrs[0];
	} else if (s.n_routes == 1) {
		op.type = KOBJ_ROUTE;
		op.route = s.routes[0];
	} else if (s.n_rules == 1) {
		op.type = KOBJ_RULE;
		op.rule = s.rules[0];
	} else {
		fail();
	}
	kstate_done(&s);
	return op;
}

/* Simulates ops on the state in 'before' (text) and compares with 'after' (text); both start
 * with SIM_LINKS. */
static void check_simulation(const char *before, const struct plan_op *ops, size_t n,
			     const char *after)
{
	_cleanup_free_ char *got = NULL, *want = NULL;
	struct kstate sb, sa, result = {0};
	const struct plan p = {.ops = (struct plan_op *)ops, .n_ops = n, .cap_ops = n};
	size_t len;
	FILE *f;

	parse_kstate(before, "before", &sb);
	parse_kstate(after, "after", &sa);
	kstate_sort(&sa);
	assert_int_equal(simulate_plan(&sb, &p, &result), 0);

	f = open_memstream(&got, &len);
	assert_non_null(f);
	assert_int_equal(kstate_write(&result, f), 0);
	fclose(f);
	f = open_memstream(&want, &len);
	assert_non_null(f);
	assert_int_equal(kstate_write(&sa, f), 0);
	fclose(f);
	if (!streq(got, want)) {
		print_error("# simulated:\n%s# expected:\n%s", got, want);
		fail();
	}
	kstate_done(&sb);
	kstate_done(&sa);
	kstate_done(&result);
}

static void test_simulate_add_keeps_existing_object(void **state)
{
	const struct plan_op ops[] = {
		op_from_text(PLAN_ADD, "addr 10.0.1.10/24 dev eth0 proto ec2net"),
		op_from_text(PLAN_ADD, "addr 10.0.1.11/32 dev eth0 noprefixroute proto ec2net"),
		op_from_text(PLAN_ADD, "route default via 10.0.1.1 dev eth0 table 10001 proto ec2net"),
		op_from_text(PLAN_ADD, "rule from 10.0.1.11 lookup 10001 priority 10001 proto ec2net"),
	};

	(void)state;
	/* The DHCP address has the same key: the kernel keeps it as it is. */
	check_simulation(SIM_LINKS "addr 10.0.1.10/24 dev eth0 proto dhcp\n", ops, ELEMENTSOF(ops),
			 SIM_LINKS "addr 10.0.1.10/24 dev eth0 proto dhcp\n"
			 "addr 10.0.1.11/32 dev eth0 noprefixroute proto ec2net\n"
			 "route default via 10.0.1.1 dev eth0 table 10001 proto ec2net\n"
			 "rule from 10.0.1.11 lookup 10001 priority 10001 proto ec2net\n");
}

static void test_simulate_del_matches_protocol(void **state)
{
	const char *before = SIM_LINKS "addr 10.0.1.11/32 dev eth0 noprefixroute proto static\n"
			     "addr 10.0.1.12/32 dev eth0 noprefixroute proto ec2net\n"
			     "route 172.17.0.0/16 dev eth0 table 10001 proto static\n"
			     "route default via 10.0.1.1 dev eth0 table 10001 proto ec2net\n"
			     "rule from 10.0.1.11 lookup 10001 priority 10001 proto static\n"
			     "rule from 10.0.1.12 lookup 10001 priority 10001 proto ec2net\n";
	const struct plan_op ops[] = {
		op_from_text(PLAN_DEL, "rule from 10.0.1.11 lookup 10001 priority 10001 proto ec2net"),
		op_from_text(PLAN_DEL, "rule from 10.0.1.12 lookup 10001 priority 10001 proto ec2net"),
		op_from_text(PLAN_DEL, "route 172.17.0.0/16 dev eth0 table 10001 proto ec2net"),
		op_from_text(PLAN_DEL, "route default via 10.0.1.1 dev eth0 table 10001"),
		op_from_text(PLAN_DEL, "addr 10.0.1.11/32 dev eth0 proto ec2net"),
		op_from_text(PLAN_DEL, "addr 10.0.1.12/32 dev eth0 proto ec2net"),
		/* Nothing with this key: nothing happens. */
		op_from_text(PLAN_DEL, "addr 10.0.1.13/32 dev eth0 proto ec2net"),
	};

	(void)state;
	check_simulation(before, ops, ELEMENTSOF(ops),
			 SIM_LINKS "addr 10.0.1.11/32 dev eth0 noprefixroute proto static\n"
			 "route 172.17.0.0/16 dev eth0 table 10001 proto static\n"
			 "rule from 10.0.1.11 lookup 10001 priority 10001 proto static\n");
}

static void test_simulate_replace(void **state)
{
	const struct plan_op ops[] = {
		op_from_text(PLAN_REPLACE, "addr 10.0.1.10/24 dev eth0 metric 512 proto ec2net"),
		op_from_text(PLAN_REPLACE,
			     "route default via 10.0.1.1 dev eth1 table 10001 proto ec2net"),
		op_from_text(PLAN_REPLACE,
			     "route 10.0.2.0/24 dev eth1 table 10002 src 10.0.2.5 scope link "
			     "proto ec2net"),
	};

	(void)state;
	check_simulation(SIM_LINKS "addr 10.0.1.10/24 dev eth0 proto ec2net\n"
			 "route default via 10.0.9.1 dev eth0 table 10001 proto ec2net\n",
			 ops, ELEMENTSOF(ops),
			 SIM_LINKS "addr 10.0.1.10/24 dev eth0 metric 512 proto ec2net\n"
			 "route default via 10.0.1.1 dev eth1 table 10001 proto ec2net\n"
			 "route 10.0.2.0/24 dev eth1 table 10002 src 10.0.2.5 scope link "
			 "proto ec2net\n");
}

/* The kernel keeps no scope on IPv6 routes and gives them metric 1024 when asked for none. */
static void test_simulate_ipv6_route_as_kernel_stores_it(void **state)
{
	const struct plan_op ops[] = {
		op_from_text(PLAN_ADD,
			     "route local 2001:db8::/80 dev eth0 table local scope host proto ec2net"),
	};

	(void)state;
	check_simulation(SIM_LINKS, ops, ELEMENTSOF(ops),
			 SIM_LINKS "route local 2001:db8::/80 dev eth0 table local metric 1024 "
				   "proto ec2net\n");
}

static void test_simulate_link_and_altname(void **state)
{
	struct plan_op ops[3] = {
		{.action = PLAN_REPLACE, .type = KOBJ_LINK, .reason = "test"},
		{.action = PLAN_ADD, .type = KOBJ_ALTNAME, .reason = "test"},
		{.action = PLAN_ADD, .type = KOBJ_ALTNAME, .reason = "test"},
	};

	(void)state;
	ops[0].link = (struct klink){.ifindex = 3, .up = true, .mtu = 9001, .group = 236};
	ops[1].link = (struct klink){.ifindex = 3, .n_altnames = 1};
	strcpy(ops[1].link.altnames[0], "eni-0123abcd");
	ops[2].link = ops[1].link; /* twice: the second is a no-op */
	check_simulation(SIM_LINKS, ops, ELEMENTSOF(ops),
			 "link eth1 index 3 mac 0a:00:00:00:00:02 mtu 9001 up group 236 "
			 "altname eni-0123abcd\n"
			 "link eth0 index 2 mac 0a:00:00:00:00:01 mtu 1500 down\n");
}

static void test_simulate_refuses_unknown_device(void **state)
{
	struct kstate s, result = {0};
	const struct plan_op op = op_from_text(PLAN_ADD, "addr 10.0.1.10/24 dev if9 proto ec2net");
	const struct plan p = {.ops = (struct plan_op *)&op, .n_ops = 1, .cap_ops = 1};

	(void)state;
	parse_kstate(SIM_LINKS, "links", &s);
	assert_int_equal(simulate_plan(&s, &p, &result), -ENODEV);
	assert_int_equal(result.n_addrs, 0);
	kstate_done(&s);
}

static void test_simulate_empty_plan_sorts(void **state)
{
	(void)state;
	check_simulation(SIM_LINKS "rule from 10.0.1.12 lookup 10001 priority 10001 proto ec2net\n"
			 "rule from 10.0.1.11 lookup 10001 priority 10001 proto ec2net\n",
			 NULL, 0,
			 SIM_LINKS "rule from 10.0.1.11 lookup 10001 priority 10001 proto ec2net\n"
			 "rule from 10.0.1.12 lookup 10001 priority 10001 proto ec2net\n");
}

/* ---- main ---- */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	static const struct CMUnitTest simulator[] = {
		cmocka_unit_test(test_simulate_add_keeps_existing_object),
		cmocka_unit_test(test_simulate_del_matches_protocol),
		cmocka_unit_test(test_simulate_replace),
		cmocka_unit_test(test_simulate_ipv6_route_as_kernel_stores_it),
		cmocka_unit_test(test_simulate_link_and_altname),
		cmocka_unit_test(test_simulate_refuses_unknown_device),
		cmocka_unit_test(test_simulate_empty_plan_sorts),
	};
	struct CMUnitTest *tests = NULL;
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d;
	int failed;

	d = opendir(PLAN_DIR);
	if (!d) {
		fprintf(stderr, "%s: %s\n", PLAN_DIR, strerror(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		char **t;
		if (de->d_name[0] == '.')
			continue;
		t = realloc(names, (n + 1) * sizeof(*names));
		if (!t)
			return 1;
		names = t;
		names[n] = strdup(de->d_name);
		if (!names[n])
			return 1;
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), name_cmp);

	tests = calloc(ELEMENTSOF(simulator) + n, sizeof(*tests));
	if (!tests)
		return 1;
	for (size_t i = 0; i < ELEMENTSOF(simulator); i++)
		tests[i] = simulator[i];
	for (size_t i = 0; i < n; i++)
		tests[ELEMENTSOF(simulator) + i] = (struct CMUnitTest){
			.name = names[i],
			.test_func = test_plan_case,
			.initial_state = names[i],
		};
	failed = _cmocka_run_group_tests("plan", tests, ELEMENTSOF(simulator) + n, NULL, NULL);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(tests);
	return failed;
}
