/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One pass: observe, fetch, plan, apply (design.md §2). Shared by ec2netctl and ec2netd; they
 * differ only in what starts a pass and what they do with its result. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "apply.h"
#include "imds-fetch.h"
#include "kstate.h"
#include "metadata.h"
#include "plan.h"

struct config;
struct kernel;

struct pass_options {
	const struct config *config;   /* borrowed */
	struct imds_client *imds;      /* borrowed */
	struct kernel *kernel;	       /* borrowed */
	int only_ifindex;	       /* 0: every interface */
	/* Interfaces taken down with `ec2netctl down` (marks.h); borrowed, may be empty. */
	const uint8_t (*down_macs)[6];
	size_t n_down_macs;
	bool dry_run;		       /* plan only */
};

struct pass_result {
	struct md_instance md;
	struct kstate observed;
	struct plan plan;
	struct apply_result *results; /* plan.n_ops entries, when applied */
	struct apply_stats apply;
	struct imds_fetch fetch;      /* the first IMDS failure, if any */
	uint64_t imds_requests;
	uint64_t netlink_sent, netlink_received;
	uint64_t usec_observe, usec_fetch, usec_plan, usec_apply;
};

/* The whole pass: pass_gather() then pass_plan_apply(). Returns 0 when the pass ran (check
 * result->apply.failed), -EIO when IMDS could not be read (nothing was changed; result->fetch
 * says why), or another negative errno (observe failed, out of memory). */
int pass_run(const struct pass_options *o, struct pass_result *ret);
/* Observe and fetch only: fills observed, md and the IMDS figures. Same returns. */
int pass_gather(const struct pass_options *o, struct pass_result *ret);
/* Observe only: a fresh dump into r->observed (replacing it), netlink figures added. */
int pass_observe(const struct pass_options *o, struct pass_result *r);
/* What pass_gather() returns for a walk that returned r with failures in f: -EIO when IMDS
 * could not be read (the listing failed or was malformed), else r. */
int pass_fetch_status(int r, const struct imds_fetch *f);
/* Plan (o->only_ifindex) and, unless o->dry_run, apply, on what pass_gather() read. */
int pass_plan_apply(const struct pass_options *o, struct pass_result *r);
void pass_result_done(struct pass_result *r);
/* The interface an operation of r->plan is for: plan_op_ifindex(), and for a rule or route
 * without one, the present link of the ENI whose table it uses; 0 for instance-wide rules and
 * for the tables of ENIs no longer present. */
int pass_op_ifindex(const struct pass_result *r, const struct plan_op *op);
