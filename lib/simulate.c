/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The simulator (style.md §14): the effect of a plan on a kernel state, computed in memory by
 * the kernel's rules of identity (the *_key_cmp() of kstate.c). Used by the planner's property
 * tests and fuzzer: simulate, plan again, expect nothing to do. */
#include <errno.h>
#include <linux/ipv6_route.h>
#include <linux/rtnetlink.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "kstate.h"
#include "macro.h"
#include "simulate.h"

static struct klink *link_by_index(struct kstate *s, int ifindex)
{
	for (size_t i = 0; i < s->n_links; i++)
		if (s->links[i].ifindex == ifindex)
			return &s->links[i];
	return NULL;
}

/* The kernel refuses an address or a route on a device it does not have. */
static int check_dev(struct kstate *s, int ifindex)
{
	return ifindex == 0 || link_by_index(s, ifindex) ? 0 : -ENODEV;
}

static bool proto_matches(uint8_t op_protocol, uint8_t obj_protocol)
{
	return op_protocol == 0 || op_protocol == obj_protocol;
}

/* Removes element i of an array of n elements of the given size, keeping the order. */
static void remove_at(void *items, size_t *n, size_t i, size_t size)
{
	char *base = items;

	memmove(base + i * size, base + (i + 1) * size, (*n - i - 1) * size);
	(*n)--;
}

static int apply_link(struct kstate *s, const struct plan_op *op)
{
	struct klink *l = link_by_index(s, op->link.ifindex);

	if (op->action != PLAN_REPLACE)
		return -EINVAL;
	if (!l)
		return -ENODEV;
	l->up = op->link.up;
	if (op->link.mtu)
		l->mtu = op->link.mtu;
	l->group = op->link.group;
	return 0;
}

static int apply_altname(struct kstate *s, const struct plan_op *op)
{
	struct klink *l = link_by_index(s, op->link.ifindex);
	const char *name = op->link.altnames[0];

	if (op->action != PLAN_ADD || op->link.n_altnames < 1)
		return -EINVAL;
	if (!l)
		return -ENODEV;
	if (streq(l->name, name))
		return 0;
	for (size_t i = 0; i < l->n_altnames; i++)
		if (streq(l->altnames[i], name))
			return 0;
	if (l->n_altnames >= KLINK_ALTNAMES_MAX)
		return -ENOSPC;
	snprintf(l->altnames[l->n_altnames++], sizeof(l->altnames[0]), "%s", name);
	return 0;
}

static int apply_addr(struct kstate *s, const struct plan_op *op)
{
	size_t i;
	int r;

	r = check_dev(s, op->addr.ifindex);
	if (r < 0)
		return op->action == PLAN_DEL ? 0 : r;
	for (i = 0; i < s->n_addrs; i++)
		if (kaddr_key_cmp(&s->addrs[i], &op->addr) == 0)
			break;
	switch (op->action) {
	case PLAN_ADD:
		return i < s->n_addrs ? 0 : kstate_add_addr(s, &op->addr);
	case PLAN_REPLACE:
		if (i < s->n_addrs) {
			s->addrs[i] = op->addr;
			return 0;
		}
		return kstate_add_addr(s, &op->addr);
	case PLAN_DEL:
		if (i < s->n_addrs && proto_matches(op->addr.protocol, s->addrs[i].protocol))
			remove_at(s->addrs, &s->n_addrs, i, sizeof(*s->addrs));
		return 0;
	case _PLAN_ACTION_MAX:
		break;
	}
	return -EINVAL;
}

/* What the kernel stores and reports for a route it is asked to add: IPv6 routes have no scope
 * (always universe) and get metric 1024 when none is given. */
static struct kroute route_as_stored(const struct kroute *r)
{
	struct kroute k = *r;

	if (k.family == AF_INET6) {
		k.scope = RT_SCOPE_UNIVERSE;
		if (k.metric == 0)
			k.metric = IP6_RT_PRIO_USER;
	}
	return k;
}

static int apply_route(struct kstate *s, const struct plan_op *op)
{
	const struct kroute stored = route_as_stored(&op->route);
	size_t i;
	int r;

	r = check_dev(s, op->route.ifindex);
	if (r < 0)
		return op->action == PLAN_DEL ? 0 : r;
	for (i = 0; i < s->n_routes; i++)
		if (kroute_key_cmp(&s->routes[i], op->action == PLAN_DEL ? &op->route : &stored) ==
		    0)
			break;
	switch (op->action) {
	case PLAN_ADD:
		return i < s->n_routes ? 0 : kstate_add_route(s, &stored);
	case PLAN_REPLACE:
		if (i < s->n_routes) {
			s->routes[i] = stored;
			return 0;
		}
		return kstate_add_route(s, &stored);
	case PLAN_DEL:
		if (i < s->n_routes && proto_matches(op->route.protocol, s->routes[i].protocol))
			remove_at(s->routes, &s->n_routes, i, sizeof(*s->routes));
		return 0;
	case _PLAN_ACTION_MAX:
		break;
	}
	return -EINVAL;
}

static int apply_rule(struct kstate *s, const struct plan_op *op)
{
	size_t i;

	for (i = 0; i < s->n_rules; i++)
		if (krule_key_cmp(&s->rules[i], &op->rule) == 0)
			break;
	switch (op->action) {
	case PLAN_ADD:
		return i < s->n_rules ? 0 : kstate_add_rule(s, &op->rule);
	case PLAN_REPLACE:
		if (i < s->n_rules) {
			s->rules[i] = op->rule;
			return 0;
		}
		return kstate_add_rule(s, &op->rule);
	case PLAN_DEL:
		if (i < s->n_rules && proto_matches(op->rule.protocol, s->rules[i].protocol))
			remove_at(s->rules, &s->n_rules, i, sizeof(*s->rules));
		return 0;
	case _PLAN_ACTION_MAX:
		break;
	}
	return -EINVAL;
}

static int apply_op(struct kstate *s, const struct plan_op *op)
{
	switch (op->type) {
	case KOBJ_LINK:
		return apply_link(s, op);
	case KOBJ_ALTNAME:
		return apply_altname(s, op);
	case KOBJ_ADDR:
		return apply_addr(s, op);
	case KOBJ_ROUTE:
		return apply_route(s, op);
	case KOBJ_RULE:
		return apply_rule(s, op);
	case _KOBJ_TYPE_MAX:
		break;
	}
	return -EINVAL;
}

int simulate_plan(const struct kstate *observed, const struct plan *p, struct kstate *ret)
{
	struct kstate s = {0};
	int r;

	r = kstate_copy(observed, &s);
	if (r < 0)
		return r;
	for (size_t i = 0; i < p->n_ops; i++) {
		r = apply_op(&s, &p->ops[i]);
		if (r < 0) {
			kstate_done(&s);
			return r;
		}
	}
	kstate_sort(&s);
	*ret = s;
	return 0;
}
