/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nlbuild: each kind of operation encoded as the kernel will read it, checked by parsing the
 * bytes back with libnl. No socket, no root. */
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include "ec2net-defs.h"
#include "ipaddr.h"
#include "kstate.h"
#include "macro.h"
#include "nlbuild.h"
#include "plan.h"
#include "test-addr.h"

#ifndef IFA_PROTO
#define IFA_PROTO 11
#endif

#define MAXATTR 64

/* Builds op, checks the netlink header and parses the attributes into tb. */
static struct nlmsghdr *build(const struct plan_op *op, int type, int flags, size_t hdrlen,
                              struct nlattr *tb[MAXATTR + 1])
{
	struct nlmsghdr *h = NULL;

	assert_int_equal(nlbuild_op(op, &h), 0);
	assert_non_null(h);
	assert_int_equal(h->nlmsg_type, type);
	assert_int_equal(h->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | flags);
	assert_int_equal(h->nlmsg_seq, 0);
	assert_true(nlmsg_valid_hdr(h, (int)hdrlen));
	assert_int_equal(nlmsg_parse(h, (int)hdrlen, tb, MAXATTR, NULL), 0);
	return h;
}

static void assert_attr_addr(const struct nlattr *a, int family, const char *s)
{
	union ipaddr want = addr(s);

	assert_non_null(a);
	assert_int_equal(nla_len(a), ipaddr_size(family));
	assert_memory_equal(nla_data(a), want.bytes, ipaddr_size(family));
}

static void test_addr_add_carries_proto_flags_and_prefix(void **state)
{
	const struct plan_op op = {
	        .action = PLAN_ADD,
	        .type = KOBJ_ADDR,
	        .addr = {.ifindex = 7,
	                 .prefix = prefix("10.0.1.25/32"),
	                 .flags = IFA_F_NOPREFIXROUTE,
	                 .protocol = EC2NET_PROTO},
	};
	struct nlattr *tb[MAXATTR + 1];
	_cleanup_free_ struct nlmsghdr *h =
	        build(&op, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifaddrmsg), tb);
	const struct ifaddrmsg *ifa = nlmsg_data(h);

	assert_int_equal(ifa->ifa_family, AF_INET);
	assert_int_equal(ifa->ifa_prefixlen, 32);
	assert_int_equal(ifa->ifa_index, 7);
	assert_attr_addr(tb[IFA_LOCAL], AF_INET, "10.0.1.25");
	assert_attr_addr(tb[IFA_ADDRESS], AF_INET, "10.0.1.25");
	assert_non_null(tb[IFA_FLAGS]);
	assert_int_equal(nla_get_u32(tb[IFA_FLAGS]), IFA_F_NOPREFIXROUTE);
	assert_non_null(tb[IFA_PROTO]);
	assert_int_equal(nla_len(tb[IFA_PROTO]), 1);
	assert_int_equal(nla_get_u8(tb[IFA_PROTO]), 236);
	assert_null(tb[IFA_RT_PRIORITY]);
	assert_null(tb[IFA_BROADCAST]);
}

static void test_addr_add_primary_with_rt_priority(void **state)
{
	const struct plan_op op = {
	        .action = PLAN_ADD,
	        .type = KOBJ_ADDR,
	        .addr = {.ifindex = 3,
	                 .prefix = prefix("10.0.1.10/24"),
	                 .protocol = EC2NET_PROTO,
	                 .rt_priority = 513},
	};
	struct nlattr *tb[MAXATTR + 1];
	_cleanup_free_ struct nlmsghdr *h =
	        build(&op, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifaddrmsg), tb);
	const struct ifaddrmsg *ifa = nlmsg_data(h);

	assert_int_equal(ifa->ifa_prefixlen, 24);
	/* the address itself, host bits and all, not the subnet */
	assert_attr_addr(tb[IFA_LOCAL], AF_INET, "10.0.1.10");
	assert_int_equal(nla_get_u32(tb[IFA_RT_PRIORITY]), 513);
	assert_int_equal(nla_get_u32(tb[IFA_FLAGS]), 0);
	assert_int_equal(nla_get_u8(tb[IFA_PROTO]), 236);
}

static void test_addr_ipv6_del(void **state)
{
	const struct plan_op op = {
	        .action = PLAN_DEL,
	        .type = KOBJ_ADDR,
	        .addr = {.ifindex = 3,
	                 .prefix = prefix("2001:db8::10/128"),
	                 .flags = IFA_F_NOPREFIXROUTE,
	                 .protocol = EC2NET_PROTO},
	};
	struct nlattr *tb[MAXATTR + 1];
	_cleanup_free_ struct nlmsghdr *h =
	        build(&op, RTM_DELADDR, 0, sizeof(struct ifaddrmsg), tb);
	const struct ifaddrmsg *ifa = nlmsg_data(h);

	assert_int_equal(ifa->ifa_family, AF_INET6);
	assert_int_equal(ifa->ifa_prefixlen, 128);
	assert_attr_addr(tb[IFA_ADDRESS], AF_INET6, "2001:db8::10");
	assert_int_equal(nla_get_u8(tb[IFA_PROTO]), 236);
}

static struct krule local_rule(int family)
{
	return (struct krule){
	        .family = family,
	        .priority = EC2NET_LOCAL_RULE_PRIORITY,
	        .table = RT_TABLE_MAIN,
	        .action = FR_ACT_TO_TBL,
	        .suppress_prefixlen = 0,
	        .suppress_ifgroup = EC2NET_DEFAULT_GROUP,
	        .protocol = EC2NET_PROTO,
	};
}

static void test_rule_add_local_rule_with_suppressors(void **state)
{
	const struct plan_op op = {
	        .action = PLAN_ADD, .type = KOBJ_RULE, .rule = local_rule(AF_INET6)};
	struct nlattr *tb[MAXATTR + 1];
	_cleanup_free_ struct nlmsghdr *h =
	        build(&op, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct fib_rule_hdr), tb);
	const struct fib_rule_hdr *frh = nlmsg_data(h);

	assert_int_equal(frh->family, AF_INET6);
	assert_int_equal(frh->src_len, 0);
	assert_int_equal(frh->table, RT_TABLE_MAIN);
	assert_int_equal(frh->action, FR_ACT_TO_TBL);
	assert_int_equal(nla_get_u32(tb[FRA_PRIORITY]), 9999);
	assert_int_equal(nla_get_u32(tb[FRA_TABLE]), RT_TABLE_MAIN);
	assert_non_null(tb[FRA_SUPPRESS_PREFIXLEN]);
	assert_int_equal(nla_get_u32(tb[FRA_SUPPRESS_PREFIXLEN]), 0);
	assert_int_equal(nla_get_u32(tb[FRA_SUPPRESS_IFGROUP]), 236);
	assert_int_equal(nla_get_u8(tb[FRA_PROTOCOL]), 236);
	assert_null(tb[FRA_SRC]);
	assert_null(tb[FRA_DST]);
}

static void test_rule_add_source_rule_table_10001(void **state)
{
	const struct plan_op op = {
	        .action = PLAN_ADD,
	        .type = KOBJ_RULE,
	        .rule = {.family = AF_INET,
	                 .priority = 10001,
	                 .table = 10001,
	                 .action = FR_ACT_TO_TBL,
	                 .from = prefix("10.0.1.25/32"),
	                 .suppress_prefixlen = -1,
	                 .suppress_ifgroup = -1,
	                 .protocol = EC2NET_PROTO},
	};
	struct nlattr *tb[MAXATTR + 1];
	_cleanup_free_ struct nlmsghdr *h =
	        build(&op, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct fib_rule_hdr), tb);
	const struct fib_rule_hdr *frh = nlmsg_data(h);

	assert_int_equal(frh->family, AF_INET);
	assert_int_equal(frh->src_len, 32);
	assert_int_equal(frh->dst_len, 0);
	/* the 8-bit field cannot hold 10001: RT_TABLE_UNSPEC there, the table in FRA_TABLE */
	assert_int_equal(frh->table, RT_TABLE_UNSPEC);
	assert_int_equal(nla_get_u32(tb[FRA_TABLE]), 10001);
	assert_int_equal(nla_get_u32(tb[FRA_PRIORITY]), 10001);
	assert_attr_addr(tb[FRA_SRC], AF_INET, "10.0.1.25");
	assert_int_equal(nla_get_u8(tb[FRA_PROTOCOL]), 236);
	assert_null(tb[FRA_SUPPRESS_PREFIXLEN]);
	assert_null(tb[FRA_SUPPRESS_IFGROUP]);
}

static void test_rule_del_and_replace(void **state)
{
	struct plan_op op = {.action = PLAN_DEL, .type = KOBJ_RULE, .rule = local_rule(AF_INET)};
	struct nlattr *tb[MAXATTR + 1];
	_cleanup_free_ struct nlmsghdr *h =
	        build(&op, RTM_DELRULE, 0, sizeof(struct fib_rule_hdr), tb);
	const struct fib_rule_hdr *frh = nlmsg_data(h);
	struct nlmsghdr *none = NULL;

	assert_int_equal(frh->table, RT_TABLE_MAIN);
	assert_int_equal(nla_get_u8(tb[FRA_PROTOCOL]), 236);
	assert_int_equal(nla_get_u32(tb[FRA_PRIORITY]), 9999);
	/* the kernel cannot change a rule in place */
	op.action = PLAN_REPLACE;
	assert_int_equal(nlbuild_op(&op, &none), -EOPNOTSUPP);
	assert_null(none);
}

static struct kroute default_route_v4(void)
{
	return (struct kroute){
	        .family = AF_INET,
	        .table = 10001,
	        .dst = {.family = AF_INET},
	        .gateway = addr("10.0.1.1"),
	        .ifindex = 3,
	        .prefsrc = addr("10.0.1.10"),
	        .type = RTN_UNICAST,
	        .scope = RT_SCOPE_UNIVERSE,
	        .protocol = EC2NET_PROTO,
	};
}

static void test_route_add_table_10001(void **state)
{
	const struct plan_op op = {
	        .action = PLAN_ADD, .type = KOBJ_ROUTE, .route = default_route_v4()};
	struct nlattr *tb[MAXATTR + 1];
	_cleanup_free_ struct nlmsghdr *h =
	        build(&op, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct rtmsg), tb);
	const struct rtmsg *rtm = nlmsg_data(h);

	assert_int_equal(rtm->rtm_family, AF_INET);
	assert_int_equal(rtm->rtm_dst_len, 0);
	assert_int_equal(rtm->rtm_table, RT_TABLE_UNSPEC);
	assert_int_equal(rtm->rtm_protocol, 236);
	assert_int_equal(rtm->rtm_type, RTN_UNICAST);
	assert_int_equal(rtm->rtm_scope, RT_SCOPE_UNIVERSE);
	assert_int_equal(nla_get_u32(tb[RTA_TABLE]), 10001);
	assert_null(tb[RTA_DST]);
	assert_attr_addr(tb[RTA_GATEWAY], AF_INET, "10.0.1.1");
	assert_attr_addr(tb[RTA_PREFSRC], AF_INET, "10.0.1.10");
	assert_int_equal(nla_get_u32(tb[RTA_OIF]), 3);
	assert_null(tb[RTA_PRIORITY]);
}

static void test_route_ipv6_subnet_with_metric(void **state)
{
	const struct plan_op op = {
	        .action = PLAN_ADD,
	        .type = KOBJ_ROUTE,
	        .route = {.family = AF_INET6,
	                  .table = 10001,
	                  .dst = prefix("2001:db8:1::/64"),
	                  .ifindex = 4,
	                  .type = RTN_UNICAST,
	                  .protocol = EC2NET_PROTO,
	                  .metric = 1024},
	};
	struct nlattr *tb[MAXATTR + 1];
	_cleanup_free_ struct nlmsghdr *h =
	        build(&op, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct rtmsg), tb);
	const struct rtmsg *rtm = nlmsg_data(h);

	assert_int_equal(rtm->rtm_family, AF_INET6);
	assert_int_equal(rtm->rtm_dst_len, 64);
	assert_attr_addr(tb[RTA_DST], AF_INET6, "2001:db8:1::");
	assert_null(tb[RTA_GATEWAY]);
	assert_null(tb[RTA_PREFSRC]);
	assert_int_equal(nla_get_u32(tb[RTA_PRIORITY]), 1024);
	assert_int_equal(nla_get_u32(tb[RTA_OIF]), 4);
}

static void test_route_replace_carries_nlm_f_replace(void **state)
{
	const struct plan_op op = {
	        .action = PLAN_REPLACE, .type = KOBJ_ROUTE, .route = default_route_v4()};
	struct nlattr *tb[MAXATTR + 1];
	_cleanup_free_ struct nlmsghdr *h =
	        build(&op, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, sizeof(struct rtmsg), tb);

	assert_false(h->nlmsg_flags & NLM_F_EXCL);
	assert_int_equal(((const struct rtmsg *)nlmsg_data(h))->rtm_protocol, 236);
}

static void test_route_del_uses_rtm_delroute_and_keeps_protocol(void **state)
{
	struct plan_op op = {.action = PLAN_DEL, .type = KOBJ_ROUTE, .route = default_route_v4()};
	struct nlattr *tb[MAXATTR + 1];
	_cleanup_free_ struct nlmsghdr *h = NULL;
	const struct rtmsg *rtm;

	op.route.scope = RT_SCOPE_LINK;
	h = build(&op, RTM_DELROUTE, 0, sizeof(struct rtmsg), tb);
	rtm = nlmsg_data(h);
	/* the kernel deletes only a route with this protocol: never someone else's */
	assert_int_equal(rtm->rtm_protocol, 236);
	assert_int_equal(rtm->rtm_scope, RT_SCOPE_NOWHERE);
	assert_int_equal(nla_get_u32(tb[RTA_TABLE]), 10001);
	assert_int_equal(nla_get_u32(tb[RTA_OIF]), 3);
}

static void test_altname_add_uses_newlinkprop(void **state)
{
	struct plan_op op = {
	        .action = PLAN_ADD, .type = KOBJ_ALTNAME, .link = {.ifindex = 5, .n_altnames = 1}};
	struct nlattr *tb[MAXATTR + 1], *a;
	_cleanup_free_ struct nlmsghdr *h = NULL;
	const struct ifinfomsg *ifi;
	int rem, n = 0;

	strcpy(op.link.altnames[0], "eni-0123456789abcdef0");
	h = build(&op, RTM_NEWLINKPROP, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg), tb);
	ifi = nlmsg_data(h);
	assert_int_equal(ifi->ifi_index, 5);
	assert_non_null(tb[IFLA_PROP_LIST]);
	nla_for_each_nested(a, tb[IFLA_PROP_LIST], rem)
	{
		assert_int_equal(nla_type(a), IFLA_ALT_IFNAME);
		assert_string_equal(nla_data(a), "eni-0123456789abcdef0");
		n++;
	}
	assert_int_equal(n, 1);
	assert_null(tb[IFLA_IFNAME]);
}

static void test_link_replace_sets_up_mtu_group(void **state)
{
	struct plan_op op = {.action = PLAN_REPLACE,
	                     .type = KOBJ_LINK,
	                     .link = {.ifindex = 5, .up = true, .mtu = 9001, .group = 236}};
	struct nlattr *tb[MAXATTR + 1];
	_cleanup_free_ struct nlmsghdr *h =
	        build(&op, RTM_SETLINK, 0, sizeof(struct ifinfomsg), tb);
	_cleanup_free_ struct nlmsghdr *h0 = NULL;
	const struct ifinfomsg *ifi = nlmsg_data(h);

	assert_int_equal(ifi->ifi_index, 5);
	assert_int_equal(ifi->ifi_flags, IFF_UP);
	assert_int_equal(ifi->ifi_change, IFF_UP);
	assert_int_equal(nla_get_u32(tb[IFLA_MTU]), 9001);
	assert_int_equal(nla_get_u32(tb[IFLA_GROUP]), 236);
	assert_null(tb[IFLA_IFNAME]); /* by ifindex, never by name */

	op.link.mtu = 0;
	h0 = build(&op, RTM_SETLINK, 0, sizeof(struct ifinfomsg), tb);
	assert_null(tb[IFLA_MTU]);
	assert_int_equal(nla_get_u32(tb[IFLA_GROUP]), 236);
}

static void test_unbuildable_ops_are_refused(void **state)
{
	struct plan_op op = {.action = PLAN_ADD, .type = KOBJ_LINK, .link = {.ifindex = 5}};
	struct nlmsghdr *h = NULL;

	assert_int_equal(nlbuild_op(&op, &h), -EOPNOTSUPP);
	op = (struct plan_op){.action = PLAN_ADD, .type = KOBJ_ADDR, .addr = {.ifindex = 5}};
	assert_int_equal(nlbuild_op(&op, &h), -EINVAL);
	op = (struct plan_op){.action = PLAN_ADD, .type = KOBJ_ALTNAME, .link = {.ifindex = 5}};
	assert_int_equal(nlbuild_op(&op, &h), -EINVAL);
	op = (struct plan_op){.action = PLAN_ADD,
	                      .type = KOBJ_ROUTE,
	                      .route = {.family = AF_INET, .dst = prefix("2001:db8::/64")}};
	assert_int_equal(nlbuild_op(&op, &h), -EINVAL);
	assert_null(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_addr_add_carries_proto_flags_and_prefix),
	        cmocka_unit_test(test_addr_add_primary_with_rt_priority),
	        cmocka_unit_test(test_addr_ipv6_del),
	        cmocka_unit_test(test_rule_add_local_rule_with_suppressors),
	        cmocka_unit_test(test_rule_add_source_rule_table_10001),
	        cmocka_unit_test(test_rule_del_and_replace),
	        cmocka_unit_test(test_route_add_table_10001),
	        cmocka_unit_test(test_route_ipv6_subnet_with_metric),
	        cmocka_unit_test(test_route_replace_carries_nlm_f_replace),
	        cmocka_unit_test(test_route_del_uses_rtm_delroute_and_keeps_protocol),
	        cmocka_unit_test(test_altname_add_uses_newlinkprop),
	        cmocka_unit_test(test_link_replace_sets_up_mtu_group),
	        cmocka_unit_test(test_unbuildable_ops_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
