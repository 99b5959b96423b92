/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* plan_op -> rtnetlink request, as the bytes the kernel reads. No socket: tests check the
 * message of each operation without root, apply.c hands it to kernel_transact(). */
#pragma once

struct nlmsghdr;
struct plan_op;

/* Builds the request for op into a malloc'd buffer holding exactly one netlink message
 * (header, family header, attributes; nlmsg_len covers them). nlmsg_seq and nlmsg_pid are 0:
 * the sender fills them. Every request has NLM_F_REQUEST|NLM_F_ACK.
 *   PLAN_ADD      RTM_NEWADDR / RTM_NEWROUTE / RTM_NEWRULE with NLM_F_CREATE|NLM_F_EXCL,
 *                 KOBJ_ALTNAME: RTM_NEWLINKPROP with IFLA_PROP_LIST { IFLA_ALT_IFNAME }
 *   PLAN_DEL      RTM_DELADDR / RTM_DELROUTE / RTM_DELRULE / RTM_DELLINKPROP
 *   PLAN_REPLACE  RTM_NEWROUTE with NLM_F_CREATE|NLM_F_REPLACE (also addresses);
 *                 KOBJ_LINK: RTM_SETLINK setting IFF_UP, IFLA_MTU (unless 0) and IFLA_GROUP
 * Returns 0, -EOPNOTSUPP for a combination no request exists for (a link add, a rule
 * replace), -EINVAL for an object without a usable family, or -ENOMEM. The caller frees *ret
 * with free(). */
int nlbuild_op(const struct plan_op *op, struct nlmsghdr **ret);
