/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* observe + nlbuild + apply against a real kernel. Runs ONLY inside the network namespace
 * test-apply.sh creates (veth pairs v0a/v0b and v1a/v1b, a foreign route and foreign rules in
 * tables 10001 and 10002); it refuses to run when those interfaces are missing, so it can
 * never write to the root namespace by accident. */
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "apply.h"
#include "array.h"
#include "ec2net-defs.h"
#include "ipaddr.h"
#include "kernel.h"
#include "kstate.h"
#include "macro.h"
#include "plan.h"
#include "test-addr.h"

#define ALTNAME "eni-0a1b2c3d4e5f60718"
#define TABLE 10001u

static struct kernel *k;
static int if0, if1;

static void add(struct plan *p, const struct plan_op *op)
{
	assert_int_equal(ARRAY_APPEND(p->ops, p->n_ops, p->cap_ops, *op), 0);
}

static void add_addr(struct plan *p, enum plan_action action, int ifindex, const char *pfx,
                     uint32_t flags, uint32_t rt_priority)
{
	add(p, &(struct plan_op){.action = action,
	                         .type = KOBJ_ADDR,
	                         .addr = {.ifindex = ifindex,
	                                  .prefix = prefix(pfx),
	                                  .flags = flags,
	                                  .protocol = EC2NET_PROTO,
	                                  .rt_priority = rt_priority},
	                         .reason = "test"});
}

static void add_route(struct plan *p, enum plan_action action, uint32_t table, const char *dst,
                      const char *gw, int ifindex, const char *src, uint8_t scope)
{
	struct ipprefix d = prefix(dst);
	struct plan_op op = {.action = action,
	                     .type = KOBJ_ROUTE,
	                     .route = {.family = d.family,
	                               .table = table,
	                               .dst = d,
	                               .ifindex = ifindex,
	                               .type = RTN_UNICAST,
	                               .scope = scope,
	                               .protocol = EC2NET_PROTO,
	                               /* what the kernel gives an IPv6 route without one */
	                               .metric = d.family == AF_INET6 ? 1024 : 0},
	                     .reason = "test"};

	if (gw)
		op.route.gateway = addr(gw);
	if (src)
		op.route.prefsrc = addr(src);
	add(p, &op);
}

static void add_rule(struct plan *p, enum plan_action action, int family, uint32_t priority,
                     uint32_t table, const char *from, int32_t sup_len, int32_t sup_group)
{
	struct plan_op op = {.action = action,
	                     .type = KOBJ_RULE,
	                     .rule = {.family = family,
	                              .priority = priority,
	                              .table = table,
	                              .action = FR_ACT_TO_TBL,
	                              .suppress_prefixlen = sup_len,
	                              .suppress_ifgroup = sup_group,
	                              .protocol = EC2NET_PROTO},
	                     .reason = "test"};

	if (from)
		op.rule.from = prefix(from);
	add(p, &op);
}

/* design.md §3 for one ENI on v0a, device 1 on card 0 (table and priority 10001). */
static void baseline_plan(struct plan *p)
{
	struct plan_op link = {.action = PLAN_REPLACE,
	                       .type = KOBJ_LINK,
	                       .link = {.ifindex = if0, .up = true, .mtu = 9001, .group = 236}};
	struct plan_op alt = {.action = PLAN_ADD,
	                      .type = KOBJ_ALTNAME,
	                      .link = {.ifindex = if0, .n_altnames = 1}};

	*p = (struct plan){0};
	add(p, &link);
	strcpy(alt.link.altnames[0], ALTNAME);
	add(p, &alt);
	add_addr(p, PLAN_ADD, if0, "10.0.1.10/24", 0, 513);
	add_addr(p, PLAN_ADD, if0, "10.0.1.25/32", IFA_F_NOPREFIXROUTE, 0);
	add_addr(p, PLAN_ADD, if0, "2001:db8:1::10/128", IFA_F_NOPREFIXROUTE, 0);
	add_route(p, PLAN_ADD, TABLE, "0.0.0.0/0", "10.0.1.1", if0, NULL, RT_SCOPE_UNIVERSE);
	add_route(p, PLAN_ADD, TABLE, "10.0.1.0/24", NULL, if0, "10.0.1.10", RT_SCOPE_LINK);
	add_route(p, PLAN_ADD, TABLE, "::/0", "fe80:ec2::1", if0, NULL, RT_SCOPE_UNIVERSE);
	add_route(p, PLAN_ADD, TABLE, "2001:db8:1::/64", NULL, if0, NULL, RT_SCOPE_UNIVERSE);
	add_rule(p, PLAN_ADD, AF_INET, 9999, RT_TABLE_MAIN, NULL, 0, 236);
	add_rule(p, PLAN_ADD, AF_INET6, 9999, RT_TABLE_MAIN, NULL, 0, 236);
	add_rule(p, PLAN_ADD, AF_INET, 10001, TABLE, "10.0.1.10/32", -1, -1);
	add_rule(p, PLAN_ADD, AF_INET, 10001, TABLE, "10.0.1.25/32", -1, -1);
	add_rule(p, PLAN_ADD, AF_INET6, 10001, TABLE, "2001:db8:1::10/128", -1, -1);
}

/* The removal of what 'add' created, in the planner's order: rules, routes, addresses. */
static void del_plan(const struct plan *add_plan, struct plan *p)
{
	static const enum kobj_type order[] = {KOBJ_RULE, KOBJ_ROUTE, KOBJ_ADDR};

	*p = (struct plan){0};
	for (size_t t = 0; t < ELEMENTSOF(order); t++)
		for (size_t i = add_plan->n_ops; i-- > 0;)
			if (add_plan->ops[i].type == order[t]) {
				struct plan_op op = add_plan->ops[i];

				op.action = PLAN_DEL;
				add(p, &op);
			}
}

static void print_op(const char *what, const struct plan_op *op, int error)
{
	char buf[512];

	plan_op_format(op, NULL, buf, sizeof(buf));
	printf("# %s: %s: %s\n", what, buf, error < 0 ? STRERROR(error) : "ok");
}

static int apply(const struct plan *p, struct apply_result **ret, struct apply_stats *stats)
{
	struct apply_result *results = calloc(p->n_ops ? p->n_ops : 1, sizeof(*results));
	int r;

	assert_non_null(results);
	r = apply_plan(k, p, results, stats);
	*ret = results;
	return r;
}

/* Applies p and asserts every operation succeeded. */
static void apply_ok(const struct plan *p)
{
	_cleanup_free_ struct apply_result *res = NULL;
	struct apply_stats st;
	int r = apply(p, &res, &st);

	for (size_t i = 0; i < p->n_ops; i++)
		if (res[i].error != 0)
			print_op("failed", &p->ops[i], res[i].error);
	assert_int_equal(r, 0);
	assert_int_equal(st.acked, p->n_ops);
	assert_int_equal(st.failed + st.skipped, 0);
}

static void observe(struct kstate *s)
{
	*s = (struct kstate){0};
	assert_int_equal(kernel_observe(k, s), 0);
}

static const struct kaddr *find_addr(const struct kstate *s, const struct kaddr *a)
{
	for (size_t i = 0; i < s->n_addrs; i++)
		if (kaddr_key_cmp(&s->addrs[i], a) == 0)
			return &s->addrs[i];
	return NULL;
}

static const struct kroute *find_route(const struct kstate *s, const struct kroute *r)
{
	for (size_t i = 0; i < s->n_routes; i++)
		if (kroute_key_cmp(&s->routes[i], r) == 0)
			return &s->routes[i];
	return NULL;
}

static const struct krule *find_rule(const struct kstate *s, const struct krule *r)
{
	for (size_t i = 0; i < s->n_rules; i++)
		if (krule_key_cmp(&s->rules[i], r) == 0)
			return &s->rules[i];
	return NULL;
}

/* Whether observed state s holds op's object, equal in every attribute we set. */
static bool holds(const struct kstate *s, const struct plan_op *op)
{
	switch (op->type) {
	case KOBJ_ADDR: {
		const struct kaddr *a = find_addr(s, &op->addr);
		return a && kaddr_equal(a, &op->addr) && a->protocol == EC2NET_PROTO;
	}
	case KOBJ_ROUTE: {
		const struct kroute *r = find_route(s, &op->route);
		return r && kroute_equal(r, &op->route) && r->protocol == EC2NET_PROTO;
	}
	case KOBJ_RULE: {
		const struct krule *r = find_rule(s, &op->rule);
		return r && krule_equal(r, &op->rule) && r->protocol == EC2NET_PROTO;
	}
	default:
		return false;
	}
}

static const struct kroute *find_foreign_route(const struct kstate *s, uint32_t table,
                                               const char *dst);

static bool has_altname(const struct klink *l, const char *name)
{
	for (size_t i = 0; i < l->n_altnames; i++)
		if (streq(l->altnames[i], name))
			return true;
	return false;
}

static void assert_same_state(const struct kstate *a, const struct kstate *b)
{
	assert_int_equal(a->n_links, b->n_links);
	assert_int_equal(a->n_addrs, b->n_addrs);
	assert_int_equal(a->n_routes, b->n_routes);
	assert_int_equal(a->n_rules, b->n_rules);
	for (size_t i = 0; i < a->n_links; i++) {
		assert_int_equal(a->links[i].ifindex, b->links[i].ifindex);
		assert_int_equal(a->links[i].mtu, b->links[i].mtu);
		assert_int_equal(a->links[i].group, b->links[i].group);
		assert_int_equal(a->links[i].up, b->links[i].up);
		assert_int_equal(a->links[i].n_altnames, b->links[i].n_altnames);
	}
	for (size_t i = 0; i < a->n_addrs; i++)
		assert_true(kaddr_equal(&a->addrs[i], &b->addrs[i]));
	for (size_t i = 0; i < a->n_routes; i++)
		assert_true(kroute_equal(&a->routes[i], &b->routes[i]));
	for (size_t i = 0; i < a->n_rules; i++)
		assert_true(krule_equal(&a->rules[i], &b->rules[i]));
}

/* test-apply.sh made a multipath route (table 10004) and a rule with iif (priority 10004):
 * observe leaves them out, counts them, and reads everything else. */
static void test_observe_skips_and_counts_unrepresentable(void **state)
{
	_cleanup_(kstate_done) struct kstate s = {0};
	struct kernel_stats a, b;

	kernel_get_stats(k, &a);
	observe(&s);
	kernel_get_stats(k, &b);
	assert_int_equal(b.skipped - a.skipped, 2);
	assert_int_equal(b.msgs_sent - a.msgs_sent, 4); /* one dump each */
	assert_null(find_foreign_route(&s, 10004, "10.8.0.0/16"));
	for (size_t i = 0; i < s.n_rules; i++)
		assert_int_not_equal(s.rules[i].priority, 10004);
	/* what can be represented is there: the foreign route and both default rule sets */
	assert_non_null(find_foreign_route(&s, TABLE, "10.9.0.0/16"));
	assert_non_null(kstate_link_by_name(&s, "lo"));
	assert_true(s.n_rules >= 6);
}

static void test_apply_creates_every_object_with_protocol_236(void **state)
{
	_cleanup_(plan_done) struct plan p = {0};
	_cleanup_(kstate_done) struct kstate s = {0};
	const struct klink *l;

	baseline_plan(&p);
	apply_ok(&p);
	observe(&s);

	l = kstate_link_by_index(&s, if0);
	assert_non_null(l);
	assert_true(l->up);
	assert_int_equal(l->mtu, 9001);
	assert_int_equal(l->group, 236);
	assert_true(l->has_mac);
	assert_string_equal(l->name, "v0a");
	assert_true(has_altname(l, ALTNAME));

	for (size_t i = 0; i < p.n_ops; i++) {
		if (p.ops[i].type == KOBJ_LINK || p.ops[i].type == KOBJ_ALTNAME)
			continue;
		if (!holds(&s, &p.ops[i]))
			print_op("missing or different", &p.ops[i], 0);
		assert_true(holds(&s, &p.ops[i]));
	}
	/* The primary's prefix route in main got the metric IFA_RT_PRIORITY asked for. */
	struct kroute connected = {.family = AF_INET,
	                           .table = RT_TABLE_MAIN,
	                           .dst = prefix("10.0.1.0/24"),
	                           .type = RTN_UNICAST,
	                           .metric = 513};
	assert_non_null(find_route(&s, &connected));
}

static void test_apply_again_succeeds_and_changes_nothing(void **state)
{
	_cleanup_(plan_done) struct plan p = {0};
	_cleanup_(kstate_done) struct kstate before = {0}, after = {0};
	struct kernel_stats ks0, ks1;

	baseline_plan(&p);
	observe(&before);
	kernel_get_stats(k, &ks0);
	apply_ok(&p);
	kernel_get_stats(k, &ks1);
	/* Everything but the link change was answered EEXIST and counted as success. */
	assert_int_equal(ks1.errors - ks0.errors, p.n_ops - 1);
	observe(&after);
	assert_same_state(&before, &after);
}

static const struct kroute *find_foreign_route(const struct kstate *s, uint32_t table,
                                               const char *dst)
{
	struct ipprefix d = prefix(dst);

	for (size_t i = 0; i < s->n_routes; i++)
		if (s->routes[i].table == table && ipprefix_equal(&s->routes[i].dst, &d))
			return &s->routes[i];
	return NULL;
}

static const struct krule *find_foreign_rule(const struct kstate *s, const char *from)
{
	struct ipprefix f = prefix(from);

	for (size_t i = 0; i < s->n_rules; i++)
		if (ipprefix_equal(&s->rules[i].from, &f))
			return &s->rules[i];
	return NULL;
}

static void test_del_removes_only_owned_objects(void **state)
{
	_cleanup_(plan_done) struct plan p = {0}, d = {0};
	_cleanup_(kstate_done) struct kstate s = {0};
	const struct kroute *fr;
	const struct krule *fu;

	baseline_plan(&p);
	apply_ok(&p);
	del_plan(&p, &d);
	apply_ok(&d);
	observe(&s);

	for (size_t i = 0; i < p.n_ops; i++) {
		const struct plan_op *op = &p.ops[i];
		bool present = false;

		if (op->type == KOBJ_ADDR)
			present = find_addr(&s, &op->addr);
		else if (op->type == KOBJ_ROUTE)
			present = find_route(&s, &op->route);
		else if (op->type == KOBJ_RULE)
			present = find_rule(&s, &op->rule);
		if (present)
			print_op("still there", op, 0);
		assert_false(present);
	}
	/* Foreign objects, made by test-apply.sh with ip(8), are left alone, even in table
	 * 10001 and at priority 10001. */
	fr = find_foreign_route(&s, TABLE, "10.9.0.0/16");
	assert_non_null(fr);
	if (!fr)
		return;
	assert_int_equal(fr->protocol, RTPROT_BOOT);
	fu = find_foreign_rule(&s, "10.0.1.99/32");
	assert_non_null(fu);
	if (!fu)
		return;
	assert_int_equal(fu->priority, 10001);
	assert_int_equal(fu->table, TABLE);
	assert_int_not_equal(fu->protocol, EC2NET_PROTO);
}

static void test_del_again_counts_already_gone_as_success(void **state)
{
	_cleanup_(plan_done) struct plan p = {0}, d = {0};
	struct kernel_stats ks0, ks1;

	baseline_plan(&p);
	del_plan(&p, &d);
	kernel_get_stats(k, &ks0);
	apply_ok(&d); /* ESRCH for routes, ENOENT for rules, EADDRNOTAVAIL for addresses */
	kernel_get_stats(k, &ks1);
	assert_int_equal(ks1.errors - ks0.errors, d.n_ops);
}

/* A delete carries protocol 236 and the kernel matches it: an identical route and rule of
 * another owner (made by test-apply.sh in table 10002) survive our delete. */
static void test_del_does_not_touch_foreign_twin(void **state)
{
	_cleanup_(plan_done) struct plan d = {0};
	_cleanup_(kstate_done) struct kstate s = {0};
	const struct kroute *fr;
	const struct krule *fu;

	observe(&s);
	fr = find_foreign_route(&s, 10002, "10.0.7.0/24");
	fu = find_foreign_rule(&s, "10.0.7.7/32");
	assert_non_null(fr);
	assert_non_null(fu);
	if (!fr || !fu)
		return;
	add(&d, &(struct plan_op){.action = PLAN_DEL, .type = KOBJ_RULE, .rule = *fu});
	add(&d, &(struct plan_op){.action = PLAN_DEL, .type = KOBJ_ROUTE, .route = *fr});
	d.ops[0].rule.protocol = EC2NET_PROTO;
	d.ops[1].route.protocol = EC2NET_PROTO;
	apply_ok(&d); /* "already gone", as far as objects with protocol 236 go */
	kstate_done(&s);
	observe(&s);
	assert_non_null(find_foreign_route(&s, 10002, "10.0.7.0/24"));
	assert_non_null(find_foreign_rule(&s, "10.0.7.7/32"));
}

static void test_other_error_is_recorded_and_pass_goes_on(void **state)
{
	_cleanup_(plan_done) struct plan p = {0}, d = {0};
	_cleanup_free_ struct apply_result *res = NULL;
	struct apply_stats st;
	int r;

	add_route(&p, PLAN_ADD, 10003, "0.0.0.0/0", "192.0.2.1", if0, NULL, RT_SCOPE_UNIVERSE);
	add_route(&p, PLAN_ADD, 10003, "10.3.0.0/24", NULL, if0, NULL, RT_SCOPE_LINK);
	add_rule(&p, PLAN_ADD, AF_INET, 10003, 10003, "10.3.0.5/32", -1, -1);
	r = apply(&p, &res, &st);
	assert_int_equal(r, -ENETUNREACH);
	assert_int_equal(res[0].error, -ENETUNREACH);
	assert_false(res[0].skipped);
	assert_int_equal(res[1].error, 0);
	assert_int_equal(res[2].error, 0);
	assert_int_equal(st.sent, 3);
	assert_int_equal(st.acked, 2);
	assert_int_equal(st.failed, 1);

	del_plan(&p, &d);
	d.n_ops = 2; /* the failed route was never there */
	apply_ok(&d);
}

static void delete_link(int ifindex)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_msg *m = nlmsg_alloc_simple(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK);
	struct ifinfomsg ifi = {.ifi_index = ifindex};

	assert_non_null(sk);
	assert_non_null(m);
	assert_int_equal(nl_connect(sk, NETLINK_ROUTE), 0);
	assert_int_equal(nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO), 0);
	assert_int_equal(nl_send_sync(sk, m), 0);
	nl_socket_free(sk);
}

static void test_enodev_skips_later_ops_of_vanished_link(void **state)
{
	_cleanup_(plan_done) struct plan p = {0}, d = {0};
	_cleanup_free_ struct apply_result *res = NULL, *dres = NULL;
	struct apply_stats st;
	int r;

	delete_link(if1); /* the ENI was detached after the plan was made */
	add(&p, &(struct plan_op){.action = PLAN_REPLACE,
	                          .type = KOBJ_LINK,
	                          .link = {.ifindex = if1, .up = true, .mtu = 9001, .group = 236}});
	add(&p, &(struct plan_op){.action = PLAN_REPLACE,
	                          .type = KOBJ_LINK,
	                          .link = {.ifindex = if0, .up = true, .mtu = 9001, .group = 236}});
	add_addr(&p, PLAN_ADD, if1, "10.0.5.1/32", IFA_F_NOPREFIXROUTE, 0);
	add_addr(&p, PLAN_ADD, if0, "10.0.6.1/32", IFA_F_NOPREFIXROUTE, 0);
	add_route(&p, PLAN_ADD, 10005, "10.0.5.0/24", NULL, if1, NULL, RT_SCOPE_LINK);
	add_route(&p, PLAN_ADD, 10006, "10.0.6.0/24", NULL, if0, NULL, RT_SCOPE_LINK);
	add_rule(&p, PLAN_ADD, AF_INET, 10006, 10006, "10.0.6.1/32", -1, -1);

	r = apply(&p, &res, &st);
	assert_int_equal(r, -ENODEV);
	assert_int_equal(res[0].error, -ENODEV); /* sent, and the kernel said so */
	assert_false(res[0].skipped);
	assert_int_equal(res[1].error, 0);
	assert_int_equal(res[2].error, -ENODEV); /* never sent */
	assert_true(res[2].skipped);
	assert_int_equal(res[3].error, 0);
	assert_int_equal(res[4].error, -ENODEV);
	assert_true(res[4].skipped);
	assert_int_equal(res[5].error, 0);
	assert_int_equal(res[6].error, 0);
	assert_int_equal(st.sent, 5);
	assert_int_equal(st.skipped, 2);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.acked, 4);

	/* Clean up what v0a got; v1a's deletes fail or are skipped with ENODEV. */
	del_plan(&p, &d);
	(void)apply(&d, &dres, NULL);
	for (size_t i = 0; i < d.n_ops; i++) {
		const struct plan_op *op = &d.ops[i];
		int ifindex = op->type == KOBJ_ADDR    ? op->addr.ifindex
		              : op->type == KOBJ_ROUTE ? op->route.ifindex
		                                       : 0;

		/* A route delete on a vanished oif is ESRCH (nothing matches), an address
		 * delete ENODEV: either way nothing on v0a is affected. */
		if (ifindex == if1)
			assert_true(dres[i].error == 0 || dres[i].error == -ENODEV);
		else
			assert_int_equal(dres[i].error, 0);
	}
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void report(const char *what, size_t n_ops, const struct kernel_stats *a,
                   const struct kernel_stats *b, double ms)
{
	printf("# %-28s %4zu ops: %5llu msgs sent, %5llu msgs received, %7.2f ms\n", what, n_ops,
	       (unsigned long long)(b->msgs_sent - a->msgs_sent),
	       (unsigned long long)(b->msgs_received - a->msgs_received), ms);
}

static void test_300_ops_figures(void **state)
{
	_cleanup_(plan_done) struct plan p = {0}, d = {0};
	_cleanup_(kstate_done) struct kstate s = {0};
	struct kernel_stats a, b;
	char buf[64];
	double t;

	for (unsigned i = 1; i <= 100; i++) {
		snprintf(buf, sizeof(buf), "10.0.2.%u/32", i);
		add_addr(&p, PLAN_ADD, if0, buf, IFA_F_NOPREFIXROUTE, 0);
	}
	for (unsigned i = 1; i <= 100; i++) {
		snprintf(buf, sizeof(buf), "10.100.%u.0/24", i);
		add_route(&p, PLAN_ADD, 10002, buf, NULL, if0, NULL, RT_SCOPE_LINK);
	}
	for (unsigned i = 1; i <= 100; i++) {
		snprintf(buf, sizeof(buf), "10.0.2.%u/32", i);
		add_rule(&p, PLAN_ADD, AF_INET, 10002, 10002, buf, -1, -1);
	}

	kernel_get_stats(k, &a);
	t = now_ms();
	apply_ok(&p);
	t = now_ms() - t;
	kernel_get_stats(k, &b);
	report("apply (all new)", p.n_ops, &a, &b, t);
	assert_int_equal(b.msgs_sent - a.msgs_sent, p.n_ops);
	assert_int_equal(b.msgs_received - a.msgs_received, p.n_ops);

	kernel_get_stats(k, &a);
	t = now_ms();
	observe(&s);
	t = now_ms() - t;
	kernel_get_stats(k, &b);
	report("observe", 0, &a, &b, t);
	printf("# observed %zu links, %zu addresses, %zu routes, %zu rules\n", s.n_links, s.n_addrs,
	       s.n_routes, s.n_rules);
	for (size_t i = 0; i < p.n_ops; i++)
		assert_true(holds(&s, &p.ops[i]));

	kernel_get_stats(k, &a);
	t = now_ms();
	apply_ok(&p);
	t = now_ms() - t;
	kernel_get_stats(k, &b);
	report("apply again (all EEXIST)", p.n_ops, &a, &b, t);

	del_plan(&p, &d);
	kernel_get_stats(k, &a);
	t = now_ms();
	apply_ok(&d);
	t = now_ms() - t;
	kernel_get_stats(k, &b);
	report("delete", d.n_ops, &a, &b, t);
}

static int setup(void **state)
{
	/* Refuse to run anywhere but in test-apply.sh's namespace. */
	if0 = (int)if_nametoindex("v0a");
	if1 = (int)if_nametoindex("v1a");
	if (if0 <= 0 || if1 <= 0 || !getenv("EC2NET_TEST_NETNS")) {
		fprintf(stderr, "Not in the test namespace (no v0a/v1a); run test-apply.sh\n");
		return -1;
	}
	return kernel_open(&k);
}

static int teardown(void **state)
{
	k = kernel_free(k);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_observe_skips_and_counts_unrepresentable),
	        cmocka_unit_test(test_apply_creates_every_object_with_protocol_236),
	        cmocka_unit_test(test_apply_again_succeeds_and_changes_nothing),
	        cmocka_unit_test(test_del_removes_only_owned_objects),
	        cmocka_unit_test(test_del_again_counts_already_gone_as_success),
	        cmocka_unit_test(test_del_does_not_touch_foreign_twin),
	        cmocka_unit_test(test_other_error_is_recorded_and_pass_goes_on),
	        cmocka_unit_test(test_enodev_skips_later_ops_of_vanished_link),
	        cmocka_unit_test(test_300_ops_figures),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
