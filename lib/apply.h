/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Executes a plan: the operations in plan order, pipelined, each result recorded. A dumb loop
 * (style.md §1): it decides nothing the planner should have. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct kernel;
struct plan;

struct apply_result {
	int error;    /* 0, or the negative errno the kernel answered (or building failed) with */
	bool skipped; /* not sent: its interface went away earlier in the pass (error -ENODEV) */
};

struct apply_stats {
	size_t sent;    /* requests sent */
	size_t acked;   /* operations that succeeded, "already there/gone" included */
	size_t failed;  /* operations that were sent (or could not be built) and failed */
	size_t skipped; /* operations not sent because their interface is gone */
};

/* Runs p->n_ops operations. Consecutive operations of the same object type and action go back
 * to back; the next group starts once every answer of the previous one is in, so a route is
 * never sent before the address it needs was acknowledged. Answers counted as success: EEXIST
 * for PLAN_ADD, ENOENT/ESRCH/EADDRNOTAVAIL for PLAN_DEL. ENODEV fails its operation and marks
 * every later operation on the same ifindex skipped (-ENODEV) without sending it (those already
 * in flight in the same batch get the kernel's own answer). Any other error is recorded and
 * the pass goes on.
 * results: p->n_ops entries, filled. ret_stats: optional.
 * Returns 0 when every operation succeeded, else the first error in plan order (a socket
 * failure included). */
int apply_plan(struct kernel *k, const struct plan *p, struct apply_result *results,
               struct apply_stats *ret_stats);
