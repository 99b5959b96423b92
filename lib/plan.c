/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The planner (design.md §3, style.md §1). Pure: metadata + observed kernel state + config in,
 * ordered operations out. Three steps:
 *   1. wants: every object the managed ENIs should have, each with the reason it exists;
 *   2. diff: a want that the kernel already satisfies costs nothing; one we own that differs is
 *      replaced; one that is missing is added; an object we own (protocol 236) in the scope of
 *      this pass that nobody wants is deleted. Nothing without our mark is deleted or replaced;
 *   3. order: links, addresses, routes, rules added; then rules, routes, addresses deleted. */
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "macro.h"
#include "config.h"
#include "ec2net-defs.h"
#include "metadata.h"
#include "numbering.h"
#include "plan.h"

/* What one ENI present as a link is to this pass. */
enum eni_role {
	ROLE_MANAGED,	/* usable metadata: make the kernel match it */
	ROLE_PROTECTED, /* invalid, incomplete or unmanaged: leave exactly as it is */
	ROLE_UNLISTED,	/* a link IMDS does not list: remove what we own on it */
	ROLE_DOWN,	/* taken down with ec2ifdown: remove what we own on it, add nothing */
};

struct present {
	const struct klink *link;
	const struct md_eni *eni; /* NULL when unlisted */
	enum eni_role role;
	uint32_t table; /* 0 when unknown */
	bool in_scope;	/* only_ifindex selects it, or every interface is in scope */
};

struct planner {
	const struct plan_input *in;
	struct present *present;
	size_t n_present, cap_present;
	struct plan wants; /* PLAN_ADD ops: what should exist */
	struct plan adds, dels;
};

static bool is_owned(uint8_t protocol)
{
	return protocol == EC2NET_PROTO;
}

static bool mac_is_down(const struct plan_input *in, const uint8_t mac[6])
{
	for (size_t i = 0; i < in->n_down_macs; i++)
		if (memcmp(in->down_macs[i], mac, 6) == 0)
			return true;
	return false;
}

static int want(struct planner *p, const struct plan_op *op)
{
	return ARRAY_APPEND(p->wants.ops, p->wants.n_ops, p->wants.cap_ops, *op);
}

static int emit(struct plan *to, enum plan_action action, const struct plan_op *op,
		const char *reason)
{
	struct plan_op o = *op;
	o.action = action;
	o.reason = reason;
	return ARRAY_APPEND(to->ops, to->n_ops, to->cap_ops, o);
}

/* ---- step 0: which links are ENIs, and what each is to this pass ---- */

static int classify(struct planner *p)
{
	const struct plan_input *in = p->in;

	for (size_t i = 0; i < in->observed->n_links; i++) {
		const struct klink *l = &in->observed->links[i];
		struct present x = {.link = l};
		int r;

		if (!l->has_mac)
			continue;
		x.eni = md_instance_find(in->md, l->mac);
		x.in_scope = in->only_ifindex == 0 || in->only_ifindex == l->ifindex;
		if (!x.eni) {
			x.role = ROLE_UNLISTED;
		} else {
			if (x.eni->device_number_status == MD_KNOWN &&
			    numbering_valid(md_eni_card(x.eni), x.eni->device_number))
				x.table = numbering_table(md_eni_card(x.eni),
							  x.eni->device_number);
			/* ec2ifdown is the user's word and needs no metadata: it wins. */
			if (mac_is_down(in, l->mac))
				x.role = ROLE_DOWN;
			else if (!md_eni_is_usable(x.eni) ||
				 config_is_unmanaged(in->config, l->name, l->mac))
				x.role = ROLE_PROTECTED;
			else
				x.role = ROLE_MANAGED;
		}
		r = ARRAY_APPEND(p->present, p->n_present, p->cap_present, x);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- step 1: wants ---- */

static int want_link(struct planner *p, const struct present *x)
{
	const struct config *c = p->in->config;
	const struct md_eni *e = x->eni;
	struct plan_op op = {.type = KOBJ_LINK, .link = *x->link};
	char name[KLINK_ALTNAME_SIZE];
	int r;

	op.link.up = true;
	if (c->mtu)
		op.link.mtu = c->mtu;
	op.link.group = c->interface_group;
	op.reason = "ENI link: up, MTU, interface group";
	r = want(p, &op);
	if (r < 0)
		return r;

	/* Altnames: eni-<id> (the id already starts with "eni-") and device-number-<d>.<c>. */
	for (int k = 0; k < 2; k++) {
		if (k == 0)
			snprintf(name, sizeof(name), "%s", e->interface_id);
		else
			snprintf(name, sizeof(name), "device-number-%u.%u", e->device_number,
				 md_eni_card(e));
		op = (struct plan_op){.type = KOBJ_ALTNAME, .reason = "ENI altname"};
		op.link.ifindex = x->link->ifindex;
		op.link.n_altnames = 1;
		snprintf(op.link.altnames[0], sizeof(op.link.altnames[0]), "%s", name);
		r = want(p, &op);
		if (r < 0)
			return r;
	}
	return 0;
}

static int want_addr(struct planner *p, int ifindex, const struct ipprefix *prefix,
		     uint32_t flags, uint32_t rt_priority, const char *reason)
{
	struct plan_op op = {.type = KOBJ_ADDR, .reason = reason};

	op.addr = (struct kaddr){
		.ifindex = ifindex,
		.prefix = *prefix,
		.flags = flags,
		.protocol = EC2NET_PROTO,
		.rt_priority = rt_priority,
	};
	return want(p, &op);
}

static int want_route(struct planner *p, const struct kroute *route, const char *reason)
{
	struct plan_op op = {.type = KOBJ_ROUTE, .route = *route, .reason = reason};

	op.route.protocol = EC2NET_PROTO;
	return want(p, &op);
}

static int want_rule(struct planner *p, int family, uint32_t priority, uint32_t table,
		     const struct ipprefix *from, int32_t suppress_prefixlen, int32_t suppress_ifgroup,
		     const char *reason)
{
	struct plan_op op = {.type = KOBJ_RULE, .reason = reason};

	op.rule = (struct krule){
		.family = family,
		.priority = priority,
		.table = table,
		.action = FR_ACT_TO_TBL,
		.suppress_prefixlen = suppress_prefixlen,
		.suppress_ifgroup = suppress_ifgroup,
		.protocol = EC2NET_PROTO,
	};
	if (from)
		op.rule.from = *from;
	return want(p, &op);
}

/* IPv6 routes without a metric get 1024 from the kernel; ask for it so that a re-read
 * compares equal. */
#define IPV6_DEFAULT_METRIC 1024u

static int want_eni(struct planner *p, const struct present *x)
{
	const struct config *c = p->in->config;
	const struct md_eni *e = x->eni;
	const int ifindex = x->link->ifindex;
	const uint32_t card = md_eni_card(e), dev = e->device_number;
	const uint32_t table = numbering_table(card, dev);
	const uint32_t prio = numbering_priority(card, dev);
	const bool rules = c->primary_rules || !e->is_primary;
	bool has_v4 = e->ipv4s.n > 0 && e->subnet_ipv4.n == 1;
	bool has_v6 = e->ipv6s.n > 0 && e->subnet_ipv6s.n > 0;
	int r;

	r = want_link(p, x);
	if (r < 0)
		return r;

	if (has_v4) {
		const struct ipprefix *subnet = &e->subnet_ipv4.items[0];
		struct ipprefix primary = e->ipv4s.items[0];
		struct kroute route;

		primary.len = subnet->len;
		r = want_addr(p, ifindex, &primary, 0, numbering_metric(card, dev),
			      "primary IPv4 of the ENI");
		if (r < 0)
			return r;
		for (size_t i = 1; i < e->ipv4s.n; i++) {
			r = want_addr(p, ifindex, &e->ipv4s.items[i], IFA_F_NOPREFIXROUTE, 0,
				      "secondary IPv4 in IMDS");
			if (r < 0)
				return r;
		}
		route = (struct kroute){
			.family = AF_INET,
			.table = table,
			.dst = {.family = AF_INET},
			.ifindex = ifindex,
			.type = RTN_UNICAST,
		};
		r = ipprefix_nth(subnet, 1, &route.gateway);
		if (r < 0)
			return r;
		r = want_route(p, &route, "default route of the ENI table");
		if (r < 0)
			return r;
		route = (struct kroute){
			.family = AF_INET,
			.table = table,
			.dst = *subnet,
			.ifindex = ifindex,
			.prefsrc = e->ipv4s.items[0].addr,
			.type = RTN_UNICAST,
			.scope = RT_SCOPE_LINK,
		};
		r = want_route(p, &route, "subnet route of the ENI table");
		if (r < 0)
			return r;
		for (size_t i = 0; rules && i < e->ipv4s.n; i++) {
			r = want_rule(p, AF_INET, prio, table, &e->ipv4s.items[i], -1, -1,
				      i == 0 ? "source rule for the ENI primary IPv4"
					     : "source rule for a secondary IPv4");
			if (r < 0)
				return r;
		}
	}

	if (has_v6) {
		struct kroute route = {
			.family = AF_INET6,
			.table = table,
			.dst = {.family = AF_INET6},
			.ifindex = ifindex,
			.type = RTN_UNICAST,
			.metric = IPV6_DEFAULT_METRIC,
		};

		for (size_t i = 0; i < e->ipv6s.n; i++) {
			r = want_addr(p, ifindex, &e->ipv6s.items[i],
				      IFA_F_NOPREFIXROUTE | IFA_F_NODAD, 0, "IPv6 in IMDS");
			if (r < 0)
				return r;
		}
		r = ipaddr_parse(EC2NET_IPV6_GATEWAY, AF_INET6, NULL, &route.gateway);
		if (r < 0)
			return r;
		r = want_route(p, &route, "IPv6 default route of the ENI table");
		if (r < 0)
			return r;
		for (size_t i = 0; i < e->subnet_ipv6s.n; i++) {
			route = (struct kroute){
				.family = AF_INET6,
				.table = table,
				.dst = e->subnet_ipv6s.items[i],
				.ifindex = ifindex,
				.type = RTN_UNICAST,
				.metric = IPV6_DEFAULT_METRIC,
			};
			r = want_route(p, &route, "IPv6 subnet route of the ENI table");
			if (r < 0)
				return r;
		}
		for (size_t i = 0; rules && i < e->ipv6s.n; i++) {
			r = want_rule(p, AF_INET6, prio, table, &e->ipv6s.items[i], -1, -1,
				      "source rule for an IPv6 address");
			if (r < 0)
				return r;
		}
	}

	/* Delegated prefixes: a rule each (their family must be routed by the table), and with
	 * PrefixLocalRoutes= a local route so the host answers on every address in them. */
	for (int fam = 0; fam < 2; fam++) {
		const struct md_list *l = fam == 0 ? &e->ipv4_prefixes : &e->ipv6_prefixes;
		bool routed = fam == 0 ? has_v4 : has_v6;

		for (size_t i = 0; routed && i < l->n; i++) {
			if (rules) {
				r = want_rule(p, l->items[i].family, prio, table, &l->items[i], -1,
					      -1, "source rule for a delegated prefix");
				if (r < 0)
					return r;
			}
			if (c->prefix_local_routes) {
				/* The kernel reports IPv6 routes with scope universe and, when
				 * added without a metric, metric 1024: ask for what it reports. */
				const bool v6 = l->items[i].family == AF_INET6;
				struct kroute route = {
					.family = l->items[i].family,
					.table = RT_TABLE_LOCAL,
					.dst = l->items[i],
					.ifindex = ifindex,
					.type = RTN_LOCAL,
					.scope = v6 ? RT_SCOPE_UNIVERSE : RT_SCOPE_HOST,
					.metric = v6 ? IPV6_DEFAULT_METRIC : 0,
				};
				r = want_route(p, &route, "local route for a delegated prefix");
				if (r < 0)
					return r;
			}
		}
	}
	return 0;
}

static int build_wants(struct planner *p)
{
	const struct config *c = p->in->config;
	bool any = false;
	int r;

	for (size_t i = 0; i < p->n_present; i++) {
		if (p->present[i].role != ROLE_MANAGED)
			continue;
		any = true;
		r = want_eni(p, &p->present[i]);
		if (r < 0)
			return r;
	}
	if (any && c->local_routes_first)
		for (int k = 0; k < 2; k++) {
			r = want_rule(p, k == 0 ? AF_INET : AF_INET6, EC2NET_LOCAL_RULE_PRIORITY,
				      RT_TABLE_MAIN, NULL, 0, (int32_t)c->interface_group,
				      "local routes first");
			if (r < 0)
				return r;
		}
	return 0;
}

/* ---- step 2: diff ---- */

static const struct present *present_by_ifindex(const struct planner *p, int ifindex)
{
	for (size_t i = 0; i < p->n_present; i++)
		if (p->present[i].link->ifindex == ifindex)
			return &p->present[i];
	return NULL;
}

/* Whether an object of ours on this interface may be changed by this pass. */
static bool ifindex_is_ours_to_change(const struct planner *p, int ifindex)
{
	const struct present *x = present_by_ifindex(p, ifindex);

	return x && x->in_scope && x->role != ROLE_PROTECTED;
}

static bool table_is_protected(const struct planner *p, uint32_t table)
{
	const struct kstate *o = p->in->observed;

	for (size_t i = 0; i < p->n_present; i++) {
		const struct present *x = &p->present[i];
		if (x->role == ROLE_UNLISTED)
			continue;
		/* Out of scope (another interface's pass) or left alone: keep its rules. */
		if (x->role == ROLE_PROTECTED || !x->in_scope) {
			if (x->table == table)
				return true;
			/* Numbering unknown: the tables its own routes live in. */
			for (size_t j = 0; x->table == 0 && j < o->n_routes; j++)
				if (o->routes[j].ifindex == x->link->ifindex &&
				    o->routes[j].table == table && is_owned(o->routes[j].protocol))
					return true;
		}
	}
	return false;
}

/* An ENI whose metadata is invalid or incomplete is present: the instance-wide rules must stay
 * as they are, as its own rules do, until IMDS answers. */
static bool any_eni_unusable(const struct planner *p)
{
	for (size_t i = 0; i < p->n_present; i++)
		if (p->present[i].eni && !md_eni_is_usable(p->present[i].eni))
			return true;
	return false;
}

static bool rule_in_scope(const struct planner *p, const struct krule *r)
{
	if (r->priority == EC2NET_LOCAL_RULE_PRIORITY && r->table == RT_TABLE_MAIN)
		return !any_eni_unusable(p);
	return !table_is_protected(p, r->table);
}

/* Whether a wanted object on this interface may be added or changed by this pass. */
static bool ifindex_in_scope(const struct planner *p, int ifindex)
{
	return p->in->only_ifindex == 0 || p->in->only_ifindex == ifindex;
}

/* ---- sorted indexes: the diff looks objects up by key in O(log n) ---- */

typedef int (*pcmp_fn)(const void *a, const void *b); /* compares two (const T **) */

struct index {
	const void **items;
	size_t n, cap;
};

static void index_done(struct index *ix)
{
	free(ix->items);
	*ix = (struct index){0};
}

static int index_add(struct index *ix, const void *item)
{
	return ARRAY_APPEND(ix->items, ix->n, ix->cap, item);
}

/* An empty index has no array, and qsort() must not be given NULL. */
static void index_sort(struct index *ix, pcmp_fn cmp)
{
	if (ix->n > 1)
		qsort(ix->items, ix->n, sizeof(void *), cmp);
}

/* The position of the first item not less than key (n when none). */
static size_t index_lower_bound(const struct index *ix, const void *key, pcmp_fn cmp)
{
	size_t lo = 0, hi = ix->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp(&ix->items[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const void *index_find(const struct index *ix, const void *key, pcmp_fn cmp)
{
	size_t i = index_lower_bound(ix, key, cmp);

	return i < ix->n && cmp(&ix->items[i], &key) == 0 ? ix->items[i] : NULL;
}

static int addr_pcmp(const void *a, const void *b)
{
	return kaddr_key_cmp(*(const struct kaddr *const *)a, *(const struct kaddr *const *)b);
}

/* The same local address on the same interface, whatever its prefix length. */
static int addr_local_pcmp(const void *a, const void *b)
{
	const struct kaddr *x = *(const struct kaddr *const *)a, *y = *(const struct kaddr *const *)b;

	if (x->ifindex != y->ifindex)
		return x->ifindex < y->ifindex ? -1 : 1;
	if (x->prefix.family != y->prefix.family)
		return x->prefix.family < y->prefix.family ? -1 : 1;
	return ipaddr_cmp(x->prefix.family, &x->prefix.addr, &y->prefix.addr);
}

static int route_pcmp(const void *a, const void *b)
{
	return kroute_key_cmp(*(const struct kroute *const *)a, *(const struct kroute *const *)b);
}

static int rule_pcmp(const void *a, const void *b)
{
	return krule_key_cmp(*(const struct krule *const *)a, *(const struct krule *const *)b);
}

/* Indexes of the observed objects and of the wanted ones, one pair per object type. */
struct indexes {
	struct index obs_addrs, want_addrs, obs_routes, want_routes, obs_rules, want_rules;
};

static void indexes_done(struct indexes *x)
{
	index_done(&x->obs_addrs);
	index_done(&x->want_addrs);
	index_done(&x->obs_routes);
	index_done(&x->want_routes);
	index_done(&x->obs_rules);
	index_done(&x->want_rules);
}

static int indexes_build(const struct planner *p, struct indexes *x)
{
	const struct kstate *o = p->in->observed;
	int r = 0;

	for (size_t i = 0; r == 0 && i < o->n_addrs; i++)
		r = index_add(&x->obs_addrs, &o->addrs[i]);
	for (size_t i = 0; r == 0 && i < o->n_routes; i++)
		r = index_add(&x->obs_routes, &o->routes[i]);
	for (size_t i = 0; r == 0 && i < o->n_rules; i++)
		r = index_add(&x->obs_rules, &o->rules[i]);
	for (size_t i = 0; r == 0 && i < p->wants.n_ops; i++) {
		const struct plan_op *w = &p->wants.ops[i];
		if (w->type == KOBJ_ADDR)
			r = index_add(&x->want_addrs, &w->addr);
		else if (w->type == KOBJ_ROUTE)
			r = index_add(&x->want_routes, &w->route);
		else if (w->type == KOBJ_RULE)
			r = index_add(&x->want_rules, &w->rule);
	}
	if (r < 0)
		return r;
	/* Sorted by key, and for addresses the same local address of any length is adjacent. */
	index_sort(&x->obs_addrs, addr_pcmp);
	index_sort(&x->want_addrs, addr_pcmp);
	index_sort(&x->obs_routes, route_pcmp);
	index_sort(&x->want_routes, route_pcmp);
	index_sort(&x->obs_rules, rule_pcmp);
	index_sort(&x->want_rules, rule_pcmp);
	return 0;
}

static int diff_addrs(struct planner *p, const struct indexes *x)
{
	const struct kstate *o = p->in->observed;
	int r;

	for (size_t i = 0; i < p->wants.n_ops; i++) {
		const struct plan_op *w = &p->wants.ops[i];
		const struct kaddr *same = NULL;
		bool foreign_has_it = false;

		if (w->type != KOBJ_ADDR || !ifindex_in_scope(p, w->addr.ifindex))
			continue;
		const void *key = &w->addr;
		for (size_t j = index_lower_bound(&x->obs_addrs, key, addr_local_pcmp);
		     j < x->obs_addrs.n && addr_local_pcmp(&x->obs_addrs.items[j], &key) == 0; j++) {
			const struct kaddr *a = x->obs_addrs.items[j];
			if (kaddr_key_cmp(a, &w->addr) == 0)
				same = a;
			else if (!is_owned(a->protocol))
				/* A DHCP client's address, whatever its length, is the address. */
				foreign_has_it = true;
		}
		if (same) {
			if (!is_owned(same->protocol) || kaddr_equal(same, &w->addr))
				continue;
			r = emit(&p->adds, PLAN_REPLACE, w, "owned address differs from IMDS");
		} else if (foreign_has_it)
			continue;
		else
			r = emit(&p->adds, PLAN_ADD, w, w->reason);
		if (r < 0)
			return r;
	}
	for (size_t j = 0; j < o->n_addrs; j++) {
		const struct kaddr *a = &o->addrs[j];
		bool wanted = false;

		if (!is_owned(a->protocol) || !ifindex_is_ours_to_change(p, a->ifindex))
			continue;
		wanted = index_find(&x->want_addrs, a, addr_pcmp) != NULL;
		if (wanted)
			continue;
		const struct present *owner = present_by_ifindex(p, a->ifindex);
		r = emit(&p->dels, PLAN_DEL, &(struct plan_op){.type = KOBJ_ADDR, .addr = *a},
			 owner && owner->role == ROLE_UNLISTED ? "interface not listed by IMDS"
			 : owner && owner->role == ROLE_DOWN   ? "interface taken down with ec2ifdown"
						       : "address no longer in IMDS");
		if (r < 0)
			return r;
	}
	return 0;
}

static int diff_routes(struct planner *p, const struct indexes *x)
{
	const struct kstate *o = p->in->observed;
	int r;

	for (size_t i = 0; i < p->wants.n_ops; i++) {
		const struct plan_op *w = &p->wants.ops[i];
		const struct kroute *same = NULL;

		if (w->type != KOBJ_ROUTE || !ifindex_in_scope(p, w->route.ifindex))
			continue;
		same = index_find(&x->obs_routes, &w->route, route_pcmp);
		if (same) {
			/* A foreign route in its place is left alone: never replaced. */
			if (!is_owned(same->protocol) || kroute_equal(same, &w->route))
				continue;
			r = emit(&p->adds, PLAN_REPLACE, w, "owned route differs from IMDS");
		} else
			r = emit(&p->adds, PLAN_ADD, w, w->reason);
		if (r < 0)
			return r;
	}
	for (size_t j = 0; j < o->n_routes; j++) {
		const struct kroute *rt = &o->routes[j];
		bool wanted = false;

		if (!is_owned(rt->protocol) || !ifindex_is_ours_to_change(p, rt->ifindex))
			continue;
		wanted = index_find(&x->want_routes, rt, route_pcmp) != NULL;
		if (wanted)
			continue;
		r = emit(&p->dels, PLAN_DEL, &(struct plan_op){.type = KOBJ_ROUTE, .route = *rt},
			 "route no longer wanted");
		if (r < 0)
			return r;
	}
	return 0;
}

static int diff_rules(struct planner *p, const struct indexes *x)
{
	const struct kstate *o = p->in->observed;
	int r;

	for (size_t i = 0; i < p->wants.n_ops; i++) {
		const struct plan_op *w = &p->wants.ops[i];
		bool have = false;

		/* Not into the table of an ENI this pass leaves alone: its routes may not be there. */
		if (w->type != KOBJ_RULE || table_is_protected(p, w->rule.table))
			continue;
		have = index_find(&x->obs_rules, &w->rule, rule_pcmp) != NULL;
		if (have)
			continue;
		r = emit(&p->adds, PLAN_ADD, w, w->reason);
		if (r < 0)
			return r;
	}
	for (size_t j = 0; j < o->n_rules; j++) {
		const struct krule *ru = &o->rules[j];
		bool wanted = false;

		if (!is_owned(ru->protocol) || !rule_in_scope(p, ru))
			continue;
		wanted = index_find(&x->want_rules, ru, rule_pcmp) != NULL;
		if (wanted)
			continue;
		r = emit(&p->dels, PLAN_DEL, &(struct plan_op){.type = KOBJ_RULE, .rule = *ru},
			 "rule no longer wanted");
		if (r < 0)
			return r;
	}
	return 0;
}

static int diff_links(struct planner *p)
{
	const struct kstate *o = p->in->observed;
	int r;

	for (size_t i = 0; i < p->wants.n_ops; i++) {
		const struct plan_op *w = &p->wants.ops[i];
		const struct klink *l;

		if (w->type != KOBJ_LINK && w->type != KOBJ_ALTNAME)
			continue;
		l = kstate_link_by_index(o, w->link.ifindex);
		if (!l || !ifindex_in_scope(p, w->link.ifindex))
			continue;
		if (w->type == KOBJ_LINK) {
			if (l->up == w->link.up && l->mtu == w->link.mtu &&
			    l->group == w->link.group)
				continue;
			r = emit(&p->adds, PLAN_REPLACE, w, w->reason);
		} else if (w->type == KOBJ_ALTNAME) {
			bool have = streq(l->name, w->link.altnames[0]);
			for (size_t k = 0; !have && k < l->n_altnames; k++)
				have = streq(l->altnames[k], w->link.altnames[0]);
			if (have)
				continue;
			r = emit(&p->adds, PLAN_ADD, w, w->reason);
		} else
			continue;
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- step 3: order ---- */

static int type_rank_add(enum kobj_type t)
{
	switch (t) {
	case KOBJ_LINK:
		return 0;
	case KOBJ_ALTNAME:
		return 1;
	case KOBJ_ADDR:
		return 2;
	case KOBJ_ROUTE:
		return 3;
	case KOBJ_RULE:
		return 4;
	case _KOBJ_TYPE_MAX:
		break;
	}
	return 5;
}

static int append_ranked(struct plan *to, const struct plan *from, bool reverse)
{
	for (int rank = 0; rank <= 5; rank++)
		for (size_t i = 0; i < from->n_ops; i++) {
			int t = type_rank_add(from->ops[i].type);
			if ((reverse ? 5 - t : t) != rank)
				continue;
			int r = ARRAY_APPEND(to->ops, to->n_ops, to->cap_ops, from->ops[i]);
			if (r < 0)
				return r;
		}
	return 0;
}

static int build_desired(const struct planner *p, struct kstate *ret)
{
	struct kstate d = {0};
	int r = 0;

	for (size_t i = 0; r == 0 && i < p->wants.n_ops; i++) {
		const struct plan_op *w = &p->wants.ops[i];
		switch (w->type) {
		case KOBJ_LINK:
			r = kstate_add_link(&d, &w->link);
			break;
		case KOBJ_ADDR:
			r = kstate_add_addr(&d, &w->addr);
			break;
		case KOBJ_ROUTE:
			r = kstate_add_route(&d, &w->route);
			break;
		case KOBJ_RULE:
			r = kstate_add_rule(&d, &w->rule);
			break;
		case KOBJ_ALTNAME:
		case _KOBJ_TYPE_MAX:
			break;
		}
	}
	if (r < 0) {
		kstate_done(&d);
		return r;
	}
	kstate_sort(&d);
	*ret = d;
	return 0;
}

void plan_done(struct plan *p)
{
	free(p->ops);
	*p = (struct plan){0};
}

int plan_build(const struct plan_input *in, struct plan *ret, struct kstate *ret_desired)
{
	struct planner p = {.in = in};
	struct indexes ix = {.obs_addrs = {0}};
	struct plan out = {0};
	int r;

	r = classify(&p);
	if (r >= 0)
		r = build_wants(&p);
	if (r >= 0)
		r = indexes_build(&p, &ix);
	if (r >= 0)
		r = diff_links(&p);
	if (r >= 0)
		r = diff_addrs(&p, &ix);
	if (r >= 0)
		r = diff_routes(&p, &ix);
	if (r >= 0)
		r = diff_rules(&p, &ix);
	if (r >= 0)
		r = append_ranked(&out, &p.adds, false);
	if (r >= 0)
		r = append_ranked(&out, &p.dels, true);
	if (r >= 0 && ret_desired)
		r = build_desired(&p, ret_desired);

	free(p.present);
	plan_done(&p.wants);
	plan_done(&p.adds);
	plan_done(&p.dels);
	indexes_done(&ix);
	if (r < 0) {
		plan_done(&out);
		return r;
	}
	*ret = out;
	return 0;
}

int plan_op_ifindex(const struct plan_op *op)
{
	switch (op->type) {
	case KOBJ_LINK:
	case KOBJ_ALTNAME:
		return op->link.ifindex;
	case KOBJ_ADDR:
		return op->addr.ifindex;
	case KOBJ_ROUTE:
		return op->route.ifindex;
	case KOBJ_RULE:
	case _KOBJ_TYPE_MAX:
		break;
	}
	return 0;
}

const char *plan_action_to_string(enum plan_action a)
{
	switch (a) {
	case PLAN_ADD:
		return "add";
	case PLAN_DEL:
		return "delete";
	case PLAN_REPLACE:
		return "replace";
	case _PLAN_ACTION_MAX:
		break;
	}
	return NULL;
}

const char *kobj_type_to_string(enum kobj_type t)
{
	switch (t) {
	case KOBJ_LINK:
		return "link";
	case KOBJ_ALTNAME:
		return "altname";
	case KOBJ_ADDR:
		return "addr";
	case KOBJ_ROUTE:
		return "route";
	case KOBJ_RULE:
		return "rule";
	case _KOBJ_TYPE_MAX:
		break;
	}
	return NULL;
}

int plan_op_format(const struct plan_op *op, const struct kstate *names, char *buf, size_t size)
{
	static const char sign[_PLAN_ACTION_MAX] = {[PLAN_ADD] = '+', [PLAN_DEL] = '-',
						    [PLAN_REPLACE] = '~'};
	char obj[512];

	switch (op->type) {
	case KOBJ_LINK: {
		char mtu[24] = "";
		if (op->link.mtu)
			snprintf(mtu, sizeof(mtu), " mtu %u", op->link.mtu);
		snprintf(obj, sizeof(obj), "link %s %s%s group %u", op->link.name,
			 op->link.up ? "up" : "down", mtu, op->link.group);
		break;
	}
	case KOBJ_ALTNAME: {
		const struct klink *l = names ? kstate_link_by_index(names, op->link.ifindex) : NULL;
		snprintf(obj, sizeof(obj), "altname %s dev %s", op->link.altnames[0],
			 l ? l->name : "?");
		break;
	}
	case KOBJ_ADDR:
		kaddr_format(&op->addr, names, obj, sizeof(obj));
		break;
	case KOBJ_ROUTE:
		kroute_format(&op->route, names, obj, sizeof(obj));
		break;
	case KOBJ_RULE:
		krule_format(&op->rule, obj, sizeof(obj));
		break;
	case _KOBJ_TYPE_MAX:
		obj[0] = 0;
		break;
	}
	return snprintf(buf, size, "%c %s   # %s", sign[op->action], obj, op->reason ? op->reason : "");
}
