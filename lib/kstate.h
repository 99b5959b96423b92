/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel-state model: links, addresses, routes and rules as arrays of plain values.
 * The same types hold what is (observed), what should be (desired) and each operation.
 * Objects refer to each other by key (ifindex, table), never by pointer. */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ipaddr.h"

#define KLINK_ALTNAMES_MAX 8
#define KLINK_ALTNAME_SIZE 128 /* ALTIFNAMSIZ */

struct klink {
	int ifindex;
	char name[IFNAMSIZ];
	uint8_t mac[6];
	bool has_mac;
	uint32_t mtu;
	bool up;	/* IFF_UP is set */
	uint32_t group;
	size_t n_altnames;
	char altnames[KLINK_ALTNAMES_MAX][KLINK_ALTNAME_SIZE];
};

struct kaddr {
	int ifindex;
	struct ipprefix prefix;	 /* the local address and its prefix length */
	uint32_t flags;		 /* IFA_F_* as in ifa_flags/IFA_FLAGS; we set IFA_F_NOPREFIXROUTE */
	uint8_t scope;		 /* RT_SCOPE_* */
	uint8_t protocol;	 /* IFA_PROTO; 0 when absent */
	uint32_t rt_priority;	 /* IFA_RT_PRIORITY: metric of the prefix route; 0 = kernel default */
};

struct kroute {
	int family;
	uint32_t table;
	struct ipprefix dst;	 /* family set; len 0 = default */
	union ipaddr gateway;	 /* same family as dst; all zero = none */
	int ifindex;		 /* 0 = none */
	union ipaddr prefsrc;	 /* all zero = none */
	uint8_t type;		 /* RTN_UNICAST, RTN_LOCAL, ... */
	uint8_t scope;		 /* RT_SCOPE_* */
	uint8_t protocol;	 /* RTPROT_* or EC2NET_PROTO */
	uint32_t metric;	 /* RTA_PRIORITY */
};

struct krule {
	int family;
	uint32_t priority;
	uint32_t table;
	uint8_t action;		 /* FR_ACT_TO_TBL for every rule we make */
	struct ipprefix from;	 /* family 0 = any */
	struct ipprefix to;	 /* family 0 = any */
	int32_t suppress_prefixlen; /* -1 = unset */
	int32_t suppress_ifgroup;   /* -1 = unset */
	uint8_t protocol;
};

struct kstate {
	struct klink *links;
	size_t n_links, cap_links;
	struct kaddr *addrs;
	size_t n_addrs, cap_addrs;
	struct kroute *routes;
	size_t n_routes, cap_routes;
	struct krule *rules;
	size_t n_rules, cap_rules;
};

void kstate_done(struct kstate *s);
int kstate_add_link(struct kstate *s, const struct klink *l);
int kstate_add_addr(struct kstate *s, const struct kaddr *a);
int kstate_add_route(struct kstate *s, const struct kroute *r);
int kstate_add_rule(struct kstate *s, const struct krule *r);
/* Sorts every array by key, so that two states can be walked together. */
void kstate_sort(struct kstate *s);
int kstate_copy(const struct kstate *src, struct kstate *ret);

const struct klink *kstate_link_by_index(const struct kstate *s, int ifindex);
const struct klink *kstate_link_by_name(const struct kstate *s, const char *name);
const struct klink *kstate_link_by_mac(const struct kstate *s, const uint8_t mac[6]);

/* Identity as the kernel sees it: an address is ifindex + family + local address + length;
 * a route is family + table + type + dst + metric (+ ifindex for IPv6, where the kernel keeps
 * one route per device); a rule is family + priority + table + selectors + suppressors. */
int kaddr_key_cmp(const struct kaddr *a, const struct kaddr *b);
int kroute_key_cmp(const struct kroute *a, const struct kroute *b);
int krule_key_cmp(const struct krule *a, const struct krule *b);
int klink_key_cmp(const struct klink *a, const struct klink *b);
/* All attributes we set (the protocol included). */
bool kaddr_equal(const struct kaddr *a, const struct kaddr *b);
bool kroute_equal(const struct kroute *a, const struct kroute *b);
bool krule_equal(const struct krule *a, const struct krule *b);

/* The one text form of each object, close to iproute2, e.g.
 *   addr 10.0.1.25/32 dev ens6 noprefixroute proto ec2net
 *   route default via 10.0.2.1 dev ens7 table 10002 proto ec2net
 *   rule from 10.0.1.25 lookup 10001 priority 10001 proto ec2net
 *   link ens6 index 3 mac 0a:00:00:00:00:01 mtu 9001 up group 236 altname eni-0123abcd
 * Interfaces are named through 'names' (the links of a state); an unknown ifindex prints as
 * "if<N>". Each returns the number of bytes written as snprintf does. */
int kaddr_format(const struct kaddr *a, const struct kstate *names, char *buf, size_t size);
int kroute_format(const struct kroute *r, const struct kstate *names, char *buf, size_t size);
int krule_format(const struct krule *r, char *buf, size_t size);
int klink_format(const struct klink *l, char *buf, size_t size);

/* Parses the text form, one object per line ('#' starts a comment), into s. "dev NAME" is
 * resolved through the link lines above it. Errors go to diags with "file:line". */
struct diag_list;
int kstate_parse(struct kstate *s, const char *text, const char *filename, struct diag_list *diags);
/* Writes every object, one per line, in key order. */
int kstate_write(const struct kstate *s, FILE *f);
