/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The planner: a pure function from (metadata, observed kernel state, config) to the desired
 * state and the ordered list of operations that gets the kernel there. No I/O, no clock, no
 * global. Ownership lives here: only objects with protocol 236 are ever deleted or replaced. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "kstate.h"

struct config;
struct md_instance;

enum plan_action {
	PLAN_ADD,
	PLAN_DEL,
	PLAN_REPLACE,
	_PLAN_ACTION_MAX,
};

enum kobj_type {
	KOBJ_LINK,    /* PLAN_REPLACE only: set up, MTU and group as in 'link' */
	KOBJ_ALTNAME, /* PLAN_ADD only: add link.altnames[0] to link.ifindex */
	KOBJ_ADDR,
	KOBJ_ROUTE,
	KOBJ_RULE,
	_KOBJ_TYPE_MAX,
};

struct plan_op {
	enum plan_action action;
	enum kobj_type type;
	union {
		struct klink link;
		struct kaddr addr;
		struct kroute route;
		struct krule rule;
	};
	const char *reason; /* a string literal */
};

struct plan {
	struct plan_op *ops;
	size_t n_ops, cap_ops;
};

/* Which interfaces a pass covers and what their role is, decided by the caller. */
struct plan_input {
	const struct md_instance *md; /* borrowed */
	const struct kstate *observed; /* borrowed */
	const struct config *config;   /* borrowed */
	/* 0: every interface; otherwise only this ifindex gets link, address, route and rule
	 * changes. Rules are added only into tables this pass builds routes for (never into
	 * another ENI's table), and deleted only from tables no left-alone ENI uses. */
	int only_ifindex;
	/* Interfaces the user took down with ec2ifdown: nothing is added, their owned objects
	 * (addresses, routes, the rules of their table) are removed. */
	const uint8_t (*down_macs)[6];
	size_t n_down_macs;
};

void plan_done(struct plan *p);
/* Builds the plan. Returns 0 or -ENOMEM; *ret_desired (optional) receives the desired state of
 * the managed interfaces. */
int plan_build(const struct plan_input *in, struct plan *ret, struct kstate *ret_desired);

/* The interface an operation acts on; 0 for rules, which have none. */
int plan_op_ifindex(const struct plan_op *op);

const char *plan_action_to_string(enum plan_action a);
const char *kobj_type_to_string(enum kobj_type t);
/* "+ rule  from 10.0.1.25 lookup 10001 priority 10001 proto ec2net   # secondary IPv4 in IMDS" */
int plan_op_format(const struct plan_op *op, const struct kstate *names, char *buf, size_t size);
