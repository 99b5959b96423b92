/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Turns one plan operation into one rtnetlink request. Built with libnl's message API and
 * copied out as plain bytes, so nothing above this file sees a libnl type. Pure apart from
 * allocation: no socket, no clock, no log. */
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/msg.h>

#include "ec2net-defs.h"
#include "kstate.h"
#include "macro.h"
#include "nlbuild.h"
#include "plan.h"

#ifndef IFA_PROTO
#define IFA_PROTO 11
#endif

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_msg *, nlmsg_free)

/* The kernel's table field is 8 bits; larger tables go in RTA_TABLE / FRA_TABLE only. */
static uint8_t table_u8(uint32_t table)
{
	return table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
}

static int put_addr(struct nl_msg *m, int type, int family, const union ipaddr *a)
{
	return nla_put(m, type, (int)ipaddr_size(family), a->bytes);
}

/* The one place IFA_PROTO is written: libnl 3.7's rtnl_addr has no accessor for it. */
static int put_ifa_proto(struct nl_msg *m, uint8_t protocol)
{
	return nla_put_u8(m, IFA_PROTO, protocol);
}

/* Every request asks for an ACK; the sender fills sequence number and port. */
static struct nl_msg *alloc_request(int type, int flags)
{
	return nlmsg_alloc_simple(type, NLM_F_REQUEST | NLM_F_ACK | flags);
}

static int new_flags(enum plan_action action)
{
	switch (action) {
	case PLAN_ADD:
		return NLM_F_CREATE | NLM_F_EXCL;
	case PLAN_REPLACE:
		return NLM_F_CREATE | NLM_F_REPLACE;
	default:
		return 0;
	}
}

static int build_link(const struct plan_op *op, struct nl_msg **ret)
{
	const struct klink *l = &op->link;
	struct ifinfomsg ifi = {
	        .ifi_family = AF_UNSPEC,
	        .ifi_index = l->ifindex,
	        .ifi_flags = l->up ? IFF_UP : 0,
	        .ifi_change = IFF_UP,
	};

	if (op->action != PLAN_REPLACE)
		return -EOPNOTSUPP;
	if (l->ifindex <= 0)
		return -EINVAL;

	_cleanup_(nlmsg_freep) struct nl_msg *m = alloc_request(RTM_SETLINK, 0);
	if (!m)
		return -ENOMEM;
	if (nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    (l->mtu != 0 && nla_put_u32(m, IFLA_MTU, l->mtu) < 0) ||
	    nla_put_u32(m, IFLA_GROUP, l->group) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(m);
	return 0;
}

static int build_altname(const struct plan_op *op, struct nl_msg **ret)
{
	const struct klink *l = &op->link;
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = l->ifindex};
	size_t len = strnlen(l->altnames[0], sizeof(l->altnames[0]));
	struct nlattr *list;
	int type;

	if (op->action == PLAN_ADD)
		type = RTM_NEWLINKPROP;
	else if (op->action == PLAN_DEL)
		type = RTM_DELLINKPROP;
	else
		return -EOPNOTSUPP;
	if (l->ifindex <= 0 || l->n_altnames < 1 || len == 0 || len >= sizeof(l->altnames[0]))
		return -EINVAL;

	_cleanup_(nlmsg_freep) struct nl_msg *m = alloc_request(type, new_flags(op->action));
	if (!m)
		return -ENOMEM;
	if (nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0)
		return -ENOMEM;
	list = nla_nest_start(m, IFLA_PROP_LIST | NLA_F_NESTED);
	if (!list || nla_put_string(m, IFLA_ALT_IFNAME, l->altnames[0]) < 0 ||
	    nla_nest_end(m, list) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(m);
	return 0;
}

static int build_addr(const struct plan_op *op, struct nl_msg **ret)
{
	const struct kaddr *a = &op->addr;
	const int family = a->prefix.family;
	struct ifaddrmsg ifa = {
	        .ifa_family = (uint8_t)family,
	        .ifa_prefixlen = a->prefix.len,
	        .ifa_flags = (uint8_t)(a->flags & 0xff),
	        .ifa_scope = a->scope,
	        .ifa_index = (uint32_t)a->ifindex,
	};
	int type = op->action == PLAN_DEL ? RTM_DELADDR : RTM_NEWADDR;

	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	if (a->ifindex <= 0 || a->prefix.len > ipaddr_bits(family))
		return -EINVAL;

	_cleanup_(nlmsg_freep) struct nl_msg *m = alloc_request(type, new_flags(op->action));
	if (!m)
		return -ENOMEM;
	/* As iproute2 does: IFA_LOCAL is our address, IFA_ADDRESS the same (no peer). */
	if (nlmsg_append(m, &ifa, sizeof(ifa), NLMSG_ALIGNTO) < 0 ||
	    put_addr(m, IFA_LOCAL, family, &a->prefix.addr) < 0 ||
	    put_addr(m, IFA_ADDRESS, family, &a->prefix.addr) < 0 ||
	    nla_put_u32(m, IFA_FLAGS, a->flags) < 0 || put_ifa_proto(m, a->protocol) < 0 ||
	    (a->rt_priority != 0 && nla_put_u32(m, IFA_RT_PRIORITY, a->rt_priority) < 0))
		return -ENOMEM;
	*ret = TAKE_PTR(m);
	return 0;
}

static int build_route(const struct plan_op *op, struct nl_msg **ret)
{
	const struct kroute *r = &op->route;
	const int family = r->family;
	struct rtmsg rtm = {
	        .rtm_family = (uint8_t)family,
	        .rtm_dst_len = r->dst.len,
	        .rtm_table = table_u8(r->table),
	        .rtm_protocol = r->protocol,
	        .rtm_scope = r->scope,
	        .rtm_type = r->type,
	};
	int type = RTM_NEWROUTE;

	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	if (r->dst.family != 0 && r->dst.family != family)
		return -EINVAL;
	if (r->dst.len > ipaddr_bits(family))
		return -EINVAL;
	if (op->action == PLAN_DEL) {
		type = RTM_DELROUTE;
		/* As iproute2 does: any scope matches; type, protocol and next hop still do. */
		rtm.rtm_scope = RT_SCOPE_NOWHERE;
	}

	_cleanup_(nlmsg_freep) struct nl_msg *m = alloc_request(type, new_flags(op->action));
	if (!m)
		return -ENOMEM;
	if (nlmsg_append(m, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0 ||
	    nla_put_u32(m, RTA_TABLE, r->table) < 0 ||
	    (r->dst.len > 0 && put_addr(m, RTA_DST, family, &r->dst.addr) < 0) ||
	    (!ipaddr_is_null(family, &r->gateway) &&
	     put_addr(m, RTA_GATEWAY, family, &r->gateway) < 0) ||
	    (r->ifindex > 0 && nla_put_u32(m, RTA_OIF, (uint32_t)r->ifindex) < 0) ||
	    (!ipaddr_is_null(family, &r->prefsrc) &&
	     put_addr(m, RTA_PREFSRC, family, &r->prefsrc) < 0) ||
	    (r->metric != 0 && nla_put_u32(m, RTA_PRIORITY, r->metric) < 0))
		return -ENOMEM;
	*ret = TAKE_PTR(m);
	return 0;
}

static int build_rule(const struct plan_op *op, struct nl_msg **ret)
{
	const struct krule *r = &op->rule;
	const int family = r->family;
	struct fib_rule_hdr frh = {
	        .family = (uint8_t)family,
	        .dst_len = r->to.family != 0 ? r->to.len : 0,
	        .src_len = r->from.family != 0 ? r->from.len : 0,
	        .table = table_u8(r->table),
	        .action = r->action != FR_ACT_UNSPEC ? r->action : FR_ACT_TO_TBL,
	};
	int type;

	if (op->action == PLAN_ADD)
		type = RTM_NEWRULE;
	else if (op->action == PLAN_DEL)
		type = RTM_DELRULE;
	else
		return -EOPNOTSUPP; /* the kernel has no in-place change of a rule */
	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	if ((r->from.family != 0 && r->from.family != family) ||
	    (r->to.family != 0 && r->to.family != family))
		return -EINVAL;

	_cleanup_(nlmsg_freep) struct nl_msg *m = alloc_request(type, new_flags(op->action));
	if (!m)
		return -ENOMEM;
	if (nlmsg_append(m, &frh, sizeof(frh), NLMSG_ALIGNTO) < 0 ||
	    nla_put_u32(m, FRA_PRIORITY, r->priority) < 0 ||
	    nla_put_u32(m, FRA_TABLE, r->table) < 0 ||
	    (r->from.family != 0 && put_addr(m, FRA_SRC, family, &r->from.addr) < 0) ||
	    (r->to.family != 0 && put_addr(m, FRA_DST, family, &r->to.addr) < 0) ||
	    (r->suppress_prefixlen >= 0 &&
	     nla_put_u32(m, FRA_SUPPRESS_PREFIXLEN, (uint32_t)r->suppress_prefixlen) < 0) ||
	    (r->suppress_ifgroup >= 0 &&
	     nla_put_u32(m, FRA_SUPPRESS_IFGROUP, (uint32_t)r->suppress_ifgroup) < 0) ||
	    nla_put_u8(m, FRA_PROTOCOL, r->protocol) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(m);
	return 0;
}

int nlbuild_op(const struct plan_op *op, struct nlmsghdr **ret)
{
	_cleanup_(nlmsg_freep) struct nl_msg *m = NULL;
	const struct nlmsghdr *h;
	struct nlmsghdr *copy;
	int r;

	if (op->action >= _PLAN_ACTION_MAX)
		return -EINVAL;
	switch (op->type) {
	case KOBJ_LINK:
		r = build_link(op, &m);
		break;
	case KOBJ_ALTNAME:
		r = build_altname(op, &m);
		break;
	case KOBJ_ADDR:
		r = build_addr(op, &m);
		break;
	case KOBJ_ROUTE:
		r = build_route(op, &m);
		break;
	case KOBJ_RULE:
		r = build_rule(op, &m);
		break;
	default:
		return -EINVAL;
	}
	if (r < 0)
		return r;

	h = nlmsg_hdr(m);
	copy = malloc(NLMSG_ALIGN(h->nlmsg_len));
	if (!copy)
		return -ENOMEM;
	memset(copy, 0, NLMSG_ALIGN(h->nlmsg_len));
	memcpy(copy, h, h->nlmsg_len);
	copy->nlmsg_seq = 0;
	copy->nlmsg_pid = 0;
	*ret = copy;
	return 0;
}
