/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The apply loop: build each operation's request (nlbuild.c), send runs of them through
 * kernel_transact() and map the kernel's answers to per-operation results. No libnl here and
 * no decisions beyond reading the kernel's answer. */
#include <errno.h>
#include <stdlib.h>

#include "apply.h"
#include "array.h"
#include "kernel.h"
#include "log.h"
#include "macro.h"
#include "nlbuild.h"
#include "plan.h"


/* The kernel's way of saying the operation's effect is already there. */
static int normalize(const struct plan_op *op, int error)
{
	if (op->action == PLAN_ADD && error == -EEXIST)
		return 0;
	if (op->action == PLAN_DEL &&
	    (error == -ENOENT || error == -ESRCH || error == -EADDRNOTAVAIL))
		return 0;
	return error;
}

struct gone {
	int *ifindexes;
	size_t n, cap;
};

static void gone_done(struct gone *g)
{
	free(g->ifindexes);
}

static bool gone_has(const struct gone *g, int ifindex)
{
	for (size_t i = 0; ifindex > 0 && i < g->n; i++)
		if (g->ifindexes[i] == ifindex)
			return true;
	return false;
}

static bool same_group(const struct plan_op *a, const struct plan_op *b)
{
	return a->type == b->type && a->action == b->action;
}

/* Sends the ops [from, to) that are neither skipped nor unbuildable and fills the results of
 * all of them. Returns a negative errno only when the socket (or memory) failed. */
static int run_group(struct kernel *k, const struct plan *p, size_t from, size_t to,
                     struct apply_result *results, struct gone *gone, size_t *sent)
{
	const size_t n = to - from;
	_cleanup_free_ struct nlmsghdr **msgs = calloc(n, sizeof(*msgs));
	_cleanup_free_ size_t *index = calloc(n, sizeof(*index));
	_cleanup_free_ int *errors = calloc(n, sizeof(*errors));
	size_t m = 0;
	int r;

	if (!msgs || !index || !errors) {
		for (size_t i = from; i < to; i++)
			results[i] = (struct apply_result){.error = -ENOMEM};
		return -ENOMEM;
	}
	for (size_t i = from; i < to; i++) {
		const struct plan_op *op = &p->ops[i];

		if (gone_has(gone, plan_op_ifindex(op))) {
			results[i] = (struct apply_result){.error = -ENODEV, .skipped = true};
			continue;
		}
		r = nlbuild_op(op, &msgs[m]);
		if (r < 0) {
			results[i] = (struct apply_result){.error = r};
			continue;
		}
		index[m++] = i;
	}

	r = m > 0 ? kernel_transact(k, msgs, m, errors) : 0;
	if (r == 0)
		*sent += m;
	for (size_t x = 0; x < m; x++) {
		const size_t i = index[x];
		const struct plan_op *op = &p->ops[i];

		results[i] = (struct apply_result){.error = normalize(op, errors[x])};
		if (errors[x] == -ENODEV && plan_op_ifindex(op) > 0 && !gone_has(gone, plan_op_ifindex(op)))
			(void)ARRAY_APPEND(gone->ifindexes, gone->n, gone->cap, plan_op_ifindex(op));
		log_debug("Operation %zu (%s %s): %s", i, plan_action_to_string(op->action),
		          kobj_type_to_string(op->type),
		          results[i].error < 0 ? STRERROR(results[i].error) : "done");
		free(msgs[x]);
	}
	return r;
}

int apply_plan(struct kernel *k, const struct plan *p, struct apply_result *results,
               struct apply_stats *ret_stats)
{
	_cleanup_(gone_done) struct gone gone = {0};
	struct apply_stats stats = {0};
	int first = 0;

	for (size_t i = 0; i < p->n_ops;) {
		size_t j = i + 1;
		int r;

		while (j < p->n_ops && same_group(&p->ops[i], &p->ops[j]))
			j++;
		r = run_group(k, p, i, j, results, &gone, &stats.sent);
		if (r < 0) {
			/* The socket failed: nothing after this group can be sent either. */
			for (size_t x = j; x < p->n_ops; x++)
				results[x] = (struct apply_result){.error = r};
			j = p->n_ops;
		}
		i = j;
	}

	for (size_t i = 0; i < p->n_ops; i++) {
		if (results[i].skipped)
			stats.skipped++;
		else if (results[i].error == 0)
			stats.acked++;
		else
			stats.failed++;
		if (first == 0 && results[i].error < 0)
			first = results[i].error;
	}
	if (ret_stats)
		*ret_stats = stats;
	return first;
}
