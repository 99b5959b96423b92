/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel-state model: arrays of values, their keys and one text form close to iproute2.
 * Pure: no netlink here (kernel.c fills a kstate, nlbuild.c turns operations into messages). */
#include <errno.h>
#include <stdarg.h>
#include <linux/if_addr.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "diag.h"
#include "ec2net-defs.h"
#include "kstate.h"
#include "parse-util.h"

/* Address flags that are ours to set and so take part in equality. */
#define KADDR_FLAGS_MASK (IFA_F_NOPREFIXROUTE | IFA_F_NODAD)

void kstate_done(struct kstate *s)
{
	free(s->links);
	free(s->addrs);
	free(s->routes);
	free(s->rules);
	*s = (struct kstate){0};
}

int kstate_add_link(struct kstate *s, const struct klink *l)
{
	return ARRAY_APPEND(s->links, s->n_links, s->cap_links, *l);
}

int kstate_add_addr(struct kstate *s, const struct kaddr *a)
{
	return ARRAY_APPEND(s->addrs, s->n_addrs, s->cap_addrs, *a);
}

int kstate_add_route(struct kstate *s, const struct kroute *r)
{
	return ARRAY_APPEND(s->routes, s->n_routes, s->cap_routes, *r);
}

int kstate_add_rule(struct kstate *s, const struct krule *r)
{
	return ARRAY_APPEND(s->rules, s->n_rules, s->cap_rules, *r);
}

#define CMP(a, b)                                                                                  \
	do {                                                                                       \
		if ((a) != (b))                                                                    \
			return (a) < (b) ? -1 : 1;                                                 \
	} while (0)

int klink_key_cmp(const struct klink *a, const struct klink *b)
{
	CMP(a->ifindex, b->ifindex);
	return 0;
}

int kaddr_key_cmp(const struct kaddr *a, const struct kaddr *b)
{
	CMP(a->ifindex, b->ifindex);
	return ipprefix_cmp(&a->prefix, &b->prefix);
}

int kroute_key_cmp(const struct kroute *a, const struct kroute *b)
{
	int r;

	CMP(a->family, b->family);
	CMP(a->table, b->table);
	CMP(a->type, b->type);
	r = ipprefix_cmp(&a->dst, &b->dst);
	if (r != 0)
		return r;
	CMP(a->metric, b->metric);
	if (a->family == AF_INET6)
		CMP(a->ifindex, b->ifindex);
	return 0;
}

int krule_key_cmp(const struct krule *a, const struct krule *b)
{
	int r;

	CMP(a->family, b->family);
	CMP(a->priority, b->priority);
	CMP(a->table, b->table);
	r = ipprefix_cmp(&a->from, &b->from);
	if (r != 0)
		return r;
	r = ipprefix_cmp(&a->to, &b->to);
	if (r != 0)
		return r;
	CMP(a->suppress_prefixlen, b->suppress_prefixlen);
	CMP(a->suppress_ifgroup, b->suppress_ifgroup);
	return 0;
}

bool kaddr_equal(const struct kaddr *a, const struct kaddr *b)
{
	return kaddr_key_cmp(a, b) == 0 &&
	       (a->flags & KADDR_FLAGS_MASK) == (b->flags & KADDR_FLAGS_MASK) &&
	       a->protocol == b->protocol && a->rt_priority == b->rt_priority;
}

bool kroute_equal(const struct kroute *a, const struct kroute *b)
{
	return kroute_key_cmp(a, b) == 0 && a->ifindex == b->ifindex &&
	       ipaddr_cmp(a->family, &a->gateway, &b->gateway) == 0 &&
	       ipaddr_cmp(a->family, &a->prefsrc, &b->prefsrc) == 0 && a->scope == b->scope &&
	       a->protocol == b->protocol;
}

bool krule_equal(const struct krule *a, const struct krule *b)
{
	return krule_key_cmp(a, b) == 0 && a->protocol == b->protocol && a->action == b->action;
}

static int link_qcmp(const void *a, const void *b)
{
	return klink_key_cmp(a, b);
}
static int addr_qcmp(const void *a, const void *b)
{
	return kaddr_key_cmp(a, b);
}
static int route_qcmp(const void *a, const void *b)
{
	return kroute_key_cmp(a, b);
}
static int rule_qcmp(const void *a, const void *b)
{
	return krule_key_cmp(a, b);
}

void kstate_sort(struct kstate *s)
{
	if (s->n_links > 1)
		qsort(s->links, s->n_links, sizeof(*s->links), link_qcmp);
	if (s->n_addrs > 1)
		qsort(s->addrs, s->n_addrs, sizeof(*s->addrs), addr_qcmp);
	if (s->n_routes > 1)
		qsort(s->routes, s->n_routes, sizeof(*s->routes), route_qcmp);
	if (s->n_rules > 1)
		qsort(s->rules, s->n_rules, sizeof(*s->rules), rule_qcmp);
}

int kstate_copy(const struct kstate *src, struct kstate *ret)
{
	struct kstate s = {0};
	int r = 0;

	for (size_t i = 0; r == 0 && i < src->n_links; i++)
		r = kstate_add_link(&s, &src->links[i]);
	for (size_t i = 0; r == 0 && i < src->n_addrs; i++)
		r = kstate_add_addr(&s, &src->addrs[i]);
	for (size_t i = 0; r == 0 && i < src->n_routes; i++)
		r = kstate_add_route(&s, &src->routes[i]);
	for (size_t i = 0; r == 0 && i < src->n_rules; i++)
		r = kstate_add_rule(&s, &src->rules[i]);
	if (r < 0) {
		kstate_done(&s);
		return r;
	}
	*ret = s;
	return 0;
}

const struct klink *kstate_link_by_index(const struct kstate *s, int ifindex)
{
	for (size_t i = 0; i < s->n_links; i++)
		if (s->links[i].ifindex == ifindex)
			return &s->links[i];
	return NULL;
}

const struct klink *kstate_link_by_name(const struct kstate *s, const char *name)
{
	for (size_t i = 0; i < s->n_links; i++)
		if (strcmp(s->links[i].name, name) == 0)
			return &s->links[i];
	return NULL;
}

const struct klink *kstate_link_by_mac(const struct kstate *s, const uint8_t mac[6])
{
	for (size_t i = 0; i < s->n_links; i++)
		if (s->links[i].has_mac && memcmp(s->links[i].mac, mac, 6) == 0)
			return &s->links[i];
	return NULL;
}

/* ---- text form ---- */

static const char *proto_name(uint8_t p, char *buf)
{
	switch (p) {
	case EC2NET_PROTO:
		return EC2NET_PROTO_NAME;
	case RTPROT_KERNEL:
		return "kernel";
	case RTPROT_BOOT:
		return "boot";
	case RTPROT_STATIC:
		return "static";
	case RTPROT_DHCP:
		return "dhcp";
	case RTPROT_RA:
		return "ra";
	default:
		snprintf(buf, 4, "%u", p);
		return buf;
	}
}

static int proto_parse(const char *s, uint8_t *ret)
{
	static const struct {
		const char *name;
		uint8_t value;
	} names[] = {{EC2NET_PROTO_NAME, EC2NET_PROTO}, {"kernel", RTPROT_KERNEL},
		     {"boot", RTPROT_BOOT},		{"static", RTPROT_STATIC},
		     {"dhcp", RTPROT_DHCP},		{"ra", RTPROT_RA}};
	uint32_t v;

	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (streq(s, names[i].name)) {
			*ret = names[i].value;
			return 0;
		}
	if (parse_u32_range(s, 0, 255, &v) < 0)
		return -EINVAL;
	*ret = (uint8_t)v;
	return 0;
}

static const char *scope_name(uint8_t scope)
{
	switch (scope) {
	case RT_SCOPE_LINK:
		return "link";
	case RT_SCOPE_HOST:
		return "host";
	case RT_SCOPE_SITE:
		return "site";
	case RT_SCOPE_NOWHERE:
		return "nowhere";
	default:
		return NULL;
	}
}

static int scope_parse(const char *s, uint8_t *ret)
{
	static const char *const names[] = {"link", "host", "site", "nowhere"};
	static const uint8_t values[] = {RT_SCOPE_LINK, RT_SCOPE_HOST, RT_SCOPE_SITE,
					 RT_SCOPE_NOWHERE};
	uint32_t v;

	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (streq(s, names[i])) {
			*ret = values[i];
			return 0;
		}
	if (streq(s, "global") || streq(s, "universe")) {
		*ret = RT_SCOPE_UNIVERSE;
		return 0;
	}
	if (parse_u32_range(s, 0, 255, &v) < 0)
		return -EINVAL;
	*ret = (uint8_t)v;
	return 0;
}

static const char *table_name(uint32_t t, char *buf)
{
	if (t == RT_TABLE_MAIN)
		return "main";
	if (t == RT_TABLE_LOCAL)
		return "local";
	if (t == RT_TABLE_DEFAULT)
		return "default";
	snprintf(buf, 12, "%u", t);
	return buf;
}

static int table_parse(const char *s, uint32_t *ret)
{
	if (streq(s, "main"))
		*ret = RT_TABLE_MAIN;
	else if (streq(s, "local"))
		*ret = RT_TABLE_LOCAL;
	else if (streq(s, "default"))
		*ret = RT_TABLE_DEFAULT;
	else
		return parse_u32(s, ret) < 0 ? -EINVAL : 0;
	return 0;
}

static const char *ifname(const struct kstate *names, int ifindex, char *buf)
{
	const struct klink *l = names ? kstate_link_by_index(names, ifindex) : NULL;

	if (l && l->name[0])
		return l->name;
	snprintf(buf, IFNAMSIZ, "if%d", ifindex);
	return buf;
}

/* snprintf that appends at *off, never past size, and keeps counting like snprintf. */
static void append(char *buf, size_t size, int *off, const char *fmt, ...) _printf_(4, 5);
static void append(char *buf, size_t size, int *off, const char *fmt, ...)
{
	va_list ap;
	size_t at = (size_t)*off < size ? (size_t)*off : size;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + at, size - at, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += n;
}

int kaddr_format(const struct kaddr *a, const struct kstate *names, char *buf, size_t size)
{
	char p[IPPREFIX_STRLEN], n[IFNAMSIZ], pr[4];
	int off = 0;

	append(buf, size, &off, "addr %s dev %s", ipprefix_format(&a->prefix, p),
	       ifname(names, a->ifindex, n));
	if (a->scope != RT_SCOPE_UNIVERSE) {
		const char *s = scope_name(a->scope);
		if (s)
			append(buf, size, &off, " scope %s", s);
		else
			append(buf, size, &off, " scope %u", a->scope);
	}
	if (a->flags & IFA_F_NOPREFIXROUTE)
		append(buf, size, &off, " noprefixroute");
	if (a->flags & IFA_F_NODAD)
		append(buf, size, &off, " nodad");
	if (a->rt_priority)
		append(buf, size, &off, " metric %u", a->rt_priority);
	if (a->protocol)
		append(buf, size, &off, " proto %s", proto_name(a->protocol, pr));
	return off;
}

int kroute_format(const struct kroute *r, const struct kstate *names, char *buf, size_t size)
{
	char p[IPPREFIX_STRLEN], a[INET6_ADDRSTRLEN], n[IFNAMSIZ], t[12], pr[4];
	int off = 0;

	append(buf, size, &off, "route ");
	if (r->family == AF_INET6 && r->dst.len == 0)
		append(buf, size, &off, "-6 ");
	if (r->type == RTN_LOCAL)
		append(buf, size, &off, "local ");
	else if (r->type != RTN_UNICAST)
		append(buf, size, &off, "type %u ", r->type);
	if (r->dst.len == 0)
		append(buf, size, &off, "default");
	else
		append(buf, size, &off, "%s", ipprefix_format(&r->dst, p));
	if (!ipaddr_is_null(r->family, &r->gateway))
		append(buf, size, &off, " via %s", ipaddr_format(r->family, &r->gateway, a));
	if (r->ifindex)
		append(buf, size, &off, " dev %s", ifname(names, r->ifindex, n));
	if (r->table != RT_TABLE_MAIN)
		append(buf, size, &off, " table %s", table_name(r->table, t));
	if (!ipaddr_is_null(r->family, &r->prefsrc))
		append(buf, size, &off, " src %s", ipaddr_format(r->family, &r->prefsrc, a));
	if (r->scope != RT_SCOPE_UNIVERSE) {
		const char *s = scope_name(r->scope);
		if (s)
			append(buf, size, &off, " scope %s", s);
		else
			append(buf, size, &off, " scope %u", r->scope);
	}
	if (r->metric)
		append(buf, size, &off, " metric %u", r->metric);
	if (r->protocol)
		append(buf, size, &off, " proto %s", proto_name(r->protocol, pr));
	return off;
}

int krule_format(const struct krule *r, char *buf, size_t size)
{
	char p[IPPREFIX_STRLEN], t[12], pr[4];
	int off = 0;

	append(buf, size, &off, "rule");
	if (r->family == AF_INET6 && r->from.family == 0 && r->to.family == 0)
		append(buf, size, &off, " -6");
	if (r->from.family)
		append(buf, size, &off, " from %s", ipprefix_format_short(&r->from, p));
	if (r->to.family)
		append(buf, size, &off, " to %s", ipprefix_format_short(&r->to, p));
	append(buf, size, &off, " lookup %s", table_name(r->table, t));
	if (r->suppress_prefixlen >= 0)
		append(buf, size, &off, " suppress_prefixlength %d", r->suppress_prefixlen);
	if (r->suppress_ifgroup >= 0)
		append(buf, size, &off, " suppress_ifgroup %d", r->suppress_ifgroup);
	append(buf, size, &off, " priority %u", r->priority);
	if (r->protocol)
		append(buf, size, &off, " proto %s", proto_name(r->protocol, pr));
	return off;
}

int klink_format(const struct klink *l, char *buf, size_t size)
{
	char m[MAC_STRLEN];
	int off = 0;

	append(buf, size, &off, "link %s index %d", l->name, l->ifindex);
	if (l->has_mac)
		append(buf, size, &off, " mac %s", mac_format(l->mac, m));
	if (l->mtu)
		append(buf, size, &off, " mtu %u", l->mtu);
	append(buf, size, &off, " %s", l->up ? "up" : "down");
	if (l->group)
		append(buf, size, &off, " group %u", l->group);
	for (size_t i = 0; i < l->n_altnames; i++)
		append(buf, size, &off, " altname %s", l->altnames[i]);
	return off;
}

int kstate_write(const struct kstate *s, FILE *f)
{
	char buf[512];

	for (size_t i = 0; i < s->n_links; i++) {
		klink_format(&s->links[i], buf, sizeof(buf));
		fprintf(f, "%s\n", buf);
	}
	for (size_t i = 0; i < s->n_addrs; i++) {
		kaddr_format(&s->addrs[i], s, buf, sizeof(buf));
		fprintf(f, "%s\n", buf);
	}
	for (size_t i = 0; i < s->n_routes; i++) {
		kroute_format(&s->routes[i], s, buf, sizeof(buf));
		fprintf(f, "%s\n", buf);
	}
	for (size_t i = 0; i < s->n_rules; i++) {
		krule_format(&s->rules[i], buf, sizeof(buf));
		fprintf(f, "%s\n", buf);
	}
	return ferror(f) ? -EIO : 0;
}

/* ---- parser of the text form ---- */

#define MAX_WORDS 32

struct words {
	char *w[MAX_WORDS];
	size_t n, i;
};

static const char *next_word(struct words *w)
{
	return w->i < w->n ? w->w[w->i++] : NULL;
}

static int resolve_dev(const struct kstate *s, const char *name, int *ret)
{
	const struct klink *l = kstate_link_by_name(s, name);
	uint32_t v;

	if (l) {
		*ret = l->ifindex;
		return 0;
	}
	if (strncmp(name, "if", 2) == 0 && parse_u32_range(name + 2, 1, INT32_MAX, &v) == 0) {
		*ret = (int)v;
		return 0;
	}
	return -ENODEV;
}

static int parse_link(struct kstate *s, struct words *w, const char **err)
{
	struct klink l = {.group = 0};
	const char *k;
	uint32_t v;

	k = next_word(w);
	if (!k || strlen(k) >= IFNAMSIZ)
		return *err = "bad interface name", -EINVAL;
	/* "if<N>" names ifindex N where no link line says otherwise (see ifname()); a link of that
	 * name would make "dev if<N>" mean two things, depending on where its line is. */
	if (strncmp(k, "if", 2) == 0 && parse_u32(k + 2, &v) == 0)
		return *err = "interface name 'if<N>' is reserved for an ifindex without a link",
		       -EINVAL;
	strcpy(l.name, k);
	while ((k = next_word(w))) {
		const char *val = NULL;
		if (streq(k, "up") || streq(k, "down")) {
			l.up = streq(k, "up");
			continue;
		}
		val = next_word(w);
		if (!val)
			return *err = "missing value", -EINVAL;
		if (streq(k, "index")) {
			if (parse_u32_range(val, 1, INT32_MAX, &v) < 0)
				return *err = "bad index", -EINVAL;
			l.ifindex = (int)v;
		} else if (streq(k, "mac")) {
			if (parse_mac(val, l.mac) < 0)
				return *err = "bad mac", -EINVAL;
			l.has_mac = true;
		} else if (streq(k, "mtu")) {
			if (parse_u32(val, &l.mtu) < 0)
				return *err = "bad mtu", -EINVAL;
		} else if (streq(k, "group")) {
			if (parse_u32(val, &l.group) < 0)
				return *err = "bad group", -EINVAL;
		} else if (streq(k, "altname")) {
			if (l.n_altnames >= KLINK_ALTNAMES_MAX || strlen(val) >= KLINK_ALTNAME_SIZE)
				return *err = "bad altname", -EINVAL;
			strcpy(l.altnames[l.n_altnames++], val);
		} else
			return *err = "unknown word", -EINVAL;
	}
	if (l.ifindex == 0)
		return *err = "missing index", -EINVAL;
	/* As in the kernel, an index and a name each belong to one link: "dev NAME" and the
	 * names written for an ifindex must not depend on which of two links comes first. */
	if (kstate_link_by_index(s, l.ifindex))
		return *err = "duplicate link index", -EINVAL;
	if (kstate_link_by_name(s, l.name))
		return *err = "duplicate link name", -EINVAL;
	return kstate_add_link(s, &l);
}

static int parse_addr(struct kstate *s, struct words *w, const char **err)
{
	struct kaddr a = {0};
	const char *k;

	k = next_word(w);
	if (!k || ipprefix_parse(k, AF_UNSPEC, 0, &a.prefix) < 0)
		return *err = "bad address (need ADDR/LEN)", -EINVAL;
	while ((k = next_word(w))) {
		if (streq(k, "noprefixroute")) {
			a.flags |= IFA_F_NOPREFIXROUTE;
			continue;
		}
		if (streq(k, "nodad")) {
			a.flags |= IFA_F_NODAD;
			continue;
		}
		const char *val = next_word(w);
		if (!val)
			return *err = "missing value", -EINVAL;
		if (streq(k, "dev")) {
			if (resolve_dev(s, val, &a.ifindex) < 0)
				return *err = "unknown device", -EINVAL;
		} else if (streq(k, "scope")) {
			if (scope_parse(val, &a.scope) < 0)
				return *err = "bad scope", -EINVAL;
		} else if (streq(k, "metric")) {
			if (parse_u32(val, &a.rt_priority) < 0)
				return *err = "bad metric", -EINVAL;
		} else if (streq(k, "proto")) {
			if (proto_parse(val, &a.protocol) < 0)
				return *err = "bad proto", -EINVAL;
		} else
			return *err = "unknown word", -EINVAL;
	}
	if (!a.ifindex)
		return *err = "missing dev", -EINVAL;
	return kstate_add_addr(s, &a);
}

static int parse_route(struct kstate *s, struct words *w, const char **err)
{
	struct kroute r = {.table = RT_TABLE_MAIN, .type = RTN_UNICAST};
	int family = AF_UNSPEC;
	const char *k = next_word(w);

	if (k && streq(k, "-6")) {
		family = AF_INET6;
		k = next_word(w);
	}
	if (k && streq(k, "local")) {
		r.type = RTN_LOCAL;
		k = next_word(w);
	}
	if (!k)
		return *err = "missing destination", -EINVAL;
	/* As for the kernel, host bits set in a destination are an error, not dropped: "0.0.2.0/0"
	 * would print as "default", which reads back as another route. */
	if (streq(k, "default")) {
		r.dst = (struct ipprefix){.family = family == AF_INET6 ? AF_INET6 : AF_INET};
	} else if (ipprefix_parse(k, family, IPPREFIX_BARE | IPPREFIX_CANONICAL, &r.dst) < 0)
		return *err = "bad destination", -EINVAL;
	r.family = r.dst.family;
	while ((k = next_word(w))) {
		const char *val = next_word(w);
		if (!val)
			return *err = "missing value", -EINVAL;
		if (streq(k, "via")) {
			if (ipaddr_parse(val, r.family, NULL, &r.gateway) < 0)
				return *err = "bad gateway", -EINVAL;
		} else if (streq(k, "src")) {
			if (ipaddr_parse(val, r.family, NULL, &r.prefsrc) < 0)
				return *err = "bad src", -EINVAL;
		} else if (streq(k, "dev")) {
			if (resolve_dev(s, val, &r.ifindex) < 0)
				return *err = "unknown device", -EINVAL;
		} else if (streq(k, "table")) {
			if (table_parse(val, &r.table) < 0)
				return *err = "bad table", -EINVAL;
		} else if (streq(k, "scope")) {
			if (scope_parse(val, &r.scope) < 0)
				return *err = "bad scope", -EINVAL;
		} else if (streq(k, "metric")) {
			if (parse_u32(val, &r.metric) < 0)
				return *err = "bad metric", -EINVAL;
		} else if (streq(k, "proto")) {
			if (proto_parse(val, &r.protocol) < 0)
				return *err = "bad proto", -EINVAL;
		} else
			return *err = "unknown word", -EINVAL;
	}
	return kstate_add_route(s, &r);
}

static int parse_rule(struct kstate *s, struct words *w, const char **err)
{
	struct krule r = {.suppress_prefixlen = -1, .suppress_ifgroup = -1, .action = FR_ACT_TO_TBL};
	bool have_table = false, have_prio = false;
	int family = AF_UNSPEC; /* set by "-6" or by the first address */
	const char *k;
	uint32_t v;

	while ((k = next_word(w))) {
		if (streq(k, "-6")) {
			if (family == AF_INET)
				return *err = "mixed address families", -EINVAL;
			family = AF_INET6;
			continue;
		}
		const char *val = next_word(w);
		if (!val)
			return *err = "missing value", -EINVAL;
		if (streq(k, "from") || streq(k, "to")) {
			struct ipprefix *p = streq(k, "from") ? &r.from : &r.to;
			if (ipprefix_parse(val, family, IPPREFIX_BARE, p) < 0)
				return *err = family ? "bad prefix or mixed address families"
						     : "bad prefix",
				       -EINVAL;
			family = p->family;
		} else if (streq(k, "lookup")) {
			if (table_parse(val, &r.table) < 0)
				return *err = "bad table", -EINVAL;
			have_table = true;
		} else if (streq(k, "priority")) {
			if (parse_u32(val, &r.priority) < 0)
				return *err = "bad priority", -EINVAL;
			have_prio = true;
		} else if (streq(k, "suppress_prefixlength")) {
			if (parse_u32_range(val, 0, 128, &v) < 0)
				return *err = "bad suppress_prefixlength", -EINVAL;
			r.suppress_prefixlen = (int32_t)v;
		} else if (streq(k, "suppress_ifgroup")) {
			if (parse_u32_range(val, 0, INT32_MAX, &v) < 0)
				return *err = "bad suppress_ifgroup", -EINVAL;
			r.suppress_ifgroup = (int32_t)v;
		} else if (streq(k, "proto")) {
			if (proto_parse(val, &r.protocol) < 0)
				return *err = "bad proto", -EINVAL;
		} else
			return *err = "unknown word", -EINVAL;
	}
	if (!have_table || !have_prio)
		return *err = "rule needs lookup and priority", -EINVAL;
	r.family = family == AF_UNSPEC ? AF_INET : family;
	return kstate_add_rule(s, &r);
}

int kstate_parse(struct kstate *s, const char *text, const char *filename, struct diag_list *diags)
{
	_cleanup_free_ char *copy = strdup(text);
	char *saveptr = NULL, *line;
	unsigned lineno = 0;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	/* strtok_r would merge empty lines and so lose line numbers; walk by hand. */
	for (line = copy; line; line = saveptr) {
		struct words w = {.n = 0};
		const char *err = NULL;
		char where[256], *hash, *tok, *sp = NULL;
		int r;

		saveptr = strchr(line, '\n');
		if (saveptr)
			*saveptr++ = 0;
		lineno++;
		hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		for (tok = strtok_r(line, " \t", &sp); tok; tok = strtok_r(NULL, " \t", &sp)) {
			if (w.n == MAX_WORDS) {
				err = "too many words";
				break;
			}
			w.w[w.n++] = tok;
		}
		if (w.n == 0 && !err)
			continue;
		snprintf(where, sizeof(where), "%s:%u", filename ? filename : "-", lineno);
		if (!err) {
			const char *kind = next_word(&w);
			if (streq(kind, "link"))
				r = parse_link(s, &w, &err);
			else if (streq(kind, "addr"))
				r = parse_addr(s, &w, &err);
			else if (streq(kind, "route"))
				r = parse_route(s, &w, &err);
			else if (streq(kind, "rule"))
				r = parse_rule(s, &w, &err);
			else {
				err = "unknown object (link, addr, route, rule)";
				r = -EINVAL;
			}
			if (r == -ENOMEM)
				return r;
		}
		if (err)
			ret = diags ? diag_add(diags, where, "%s", err) : -EINVAL;
	}
	return ret;
}
