/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What every ec2netctl verb gets: the parsed options and the loaded config, and the pieces of
 * a pass that the verbs share (ctl-pass.c). */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "marks.h"
#include "pass.h"

struct ctl {
	const char *prog;	   /* "ec2netctl", or "ec2ifup" &c. when called by that name */
	const char *config_file;   /* --config, NULL = default locations */
	const char *imds_endpoint; /* --imds-endpoint or $EC2NET_IMDS_ENDPOINT, NULL = config */
	const char *state_dir;	   /* --state-dir */
	bool json;
	bool quiet;
	bool force;		   /* down --force: the primary ENI too */
	const char *iface;	   /* positional IFACE, NULL = every interface */
	struct config config;
};

/* Exit codes (design.md §6). */
#define CTL_EXIT_OK 0
#define CTL_EXIT_FAILED 1
#define CTL_EXIT_USAGE 2

int verb_metadata(struct ctl *c);
int verb_plan(struct ctl *c);
int verb_apply(struct ctl *c);
int verb_status(struct ctl *c);
int verb_up(struct ctl *c);
int verb_down(struct ctl *c);
int verb_scan(struct ctl *c);

/* Opens an IMDS client for the config and options; prints the error. Returns 0 or -errno. */
struct imds_client;
int ctl_open_imds(const struct ctl *c, struct imds_client **ret);

/* One pass as the verbs run it: the lock, netlink, IMDS, and what was read. */
struct ctl_pass {
	int lock_fd;
	struct kernel *kernel;
	struct imds_client *imds;
	struct pass_options o;
	struct pass_result res;
	struct down_marks down;
};

/* Whether the effective capability set holds CAP_NET_ADMIN; prints the one-line error naming
 * the verb when it does not. Returns 0 or -EPERM. */
int ctl_require_net_admin(const struct ctl *c, const char *verb);
/* Takes the lock (exclusive: lock_take(), an error when it fails; shared: only if the lock
 * file exists, never creating anything), opens netlink and IMDS, observes and fetches. Prints
 * every error ("Cannot read IMDS, nothing changed: ..."). Returns 0 or a negative errno; call
 * ctl_pass_done() either way. */
int ctl_pass_begin(const struct ctl *c, struct ctl_pass *p, bool exclusive);
void ctl_pass_done(struct ctl_pass *p);
/* The link named name (or one of its altnames) that IMDS lists. Prints "Unknown interface"
 * or "not an ENI listed by IMDS". Returns 0 or -ENODEV / -ENOENT. */
int ctl_resolve_iface(const struct ctl_pass *p, const char *name, const struct klink **ret);
/* (Re-)reads the down marks into p->down. Prints the error. Returns 0 or a negative errno. */
int ctl_pass_read_marks(const struct ctl *c, struct ctl_pass *p);
/* Reads the down marks and plans (only_ifindex, 0 = all), applying unless dry_run, on what
 * ctl_pass_begin() read. Prints the error. Returns 0 or a negative errno. */
int ctl_pass_plan(const struct ctl *c, struct ctl_pass *p, int only_ifindex, bool dry_run);
/* The object of an operation in its one text form, without the sign and the reason:
 * "rule from 10.0.2.21 lookup 10001 priority 10001 proto ec2net". Returns buf. */
const char *ctl_op_object(const struct plan_op *op, const struct kstate *names, char *buf,
			  size_t size);
/* Prints each operation (unless quiet) and each failure, as apply does. Returns the number of
 * operations that failed or were skipped. */
size_t ctl_print_ops(const struct ctl *c, const struct ctl_pass *p, bool applied);
/* Sets the link up or down (RTM_SETLINK by ifindex, through the plan/apply code). Returns 0
 * or the kernel's negative errno. */
int ctl_set_link_up(struct ctl_pass *p, const struct klink *l, bool up);
